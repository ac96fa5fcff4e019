// httpSessionFactory: ALPN decides on TLS; the first bytes decide in cleartext (Http1Connection).
#include "proxy/http/http_session_factory.h"

#include "proxy/http/http1_connection.h"
#include "proxy/http/http2_connection.h"
#include "proxy/http/message_writer.h"

namespace readygate {

SessionFactory httpSessionFactory() {
  return {[](const SessionContext& context, ClientConnection client) -> std::unique_ptr<Session> {
            // The listener offers h2 by ALPN only while http2.enabled; a client can only
            // have chosen it then.
            if (client.secure && client.connection->transport().alpn() == "h2") {
              return std::make_unique<Http2Connection>(context, std::move(client));
            }
            return std::make_unique<Http1Connection>(context, std::move(client));
          },
          errorResponse(503, "overloaded", false)};
}

}  // namespace readygate
