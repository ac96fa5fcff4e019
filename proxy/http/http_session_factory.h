// The session a mode-http listener makes for a client: HTTP/2 when TLS ALPN chose h2, else
// HTTP/1 (which hands over to HTTP/2 when a cleartext client opens with the h2c preface).
#pragma once

#include "proxy/net/session.h"

namespace readygate {

SessionFactory httpSessionFactory();

}  // namespace readygate
