// BytePump implementation.
#include "proxy/net/byte_pump.h"

namespace readygate {

BytePump::BytePump(StreamConnection& client, StreamConnection& upstream, Watermarks watermarks,
                   Owner& owner)
    : client_{&client}, upstream_{&upstream}, watermarks_(watermarks), owner_(owner) {}

void BytePump::start(bool clientClosed, bool upstreamClosed) {
  client_.connection->setHandler(this);
  upstream_.connection->setHandler(this);
  forward(upstream_, client_);
  forward(client_, upstream_);
  if (clientClosed) {
    endOfStream(client_, upstream_);
    return;  // the owner may be gone
  }
  if (upstreamClosed) {
    endOfStream(upstream_, client_);
    return;
  }
  if (!client_.pausedByPeer) client_.connection->resumeReading();
  if (!upstream_.pausedByPeer) upstream_.connection->resumeReading();
}

void BytePump::forward(Side& from, Side& to) {
  std::string_view data = from.connection->input();
  if (data.empty()) return;
  owner_.onPumpActivity(&from == &client_, data.size());
  to.connection->write(data);
  from.connection->consume(data.size());
  if (to.connection->queued() >= watermarks_.high) {
    // The far end reads slower than this one sends: stop reading until it catches up.
    from.connection->pauseReading();
    from.pausedByPeer = true;
    to.connection->setDrainMark(watermarks_.low);
  }
}

void BytePump::onInput(StreamConnection& connection) {
  Side& from = sideOf(connection);
  forward(from, peerOf(from));
}

void BytePump::onDrained(StreamConnection& connection) {
  Side& to = sideOf(connection);
  Side& from = peerOf(to);
  owner_.onPumpActivity(&from == &client_, 0);
  if (from.pausedByPeer && to.connection->queued() <= watermarks_.low && !from.eof) {
    from.pausedByPeer = false;
    from.connection->resumeReading();
  }
  passShutdownIfFlushed(from, to);
}

void BytePump::onClosed(StreamConnection& connection, int error) {
  Side& from = sideOf(connection);
  Side& to = peerOf(from);
  if (error != 0) {
    forward(from, to);  // what came before the reset still goes out
    owner_.onPumpFailed(&from == &client_, error);
    return;
  }
  endOfStream(from, to);
}

void BytePump::endOfStream(Side& from, Side& to) {
  from.eof = true;
  from.connection->pauseReading();
  forward(from, to);  // whatever arrived with the FIN goes out before ours
  passShutdownIfFlushed(from, to);
}

bool BytePump::passShutdownIfFlushed(Side& from, Side& to) {
  if (!from.eof || to.shutdownSent) return false;
  if (to.connection->queued() > 0) {
    to.connection->setDrainMark(0);  // called again once everything is written
    return false;
  }
  to.connection->shutdownWrite();
  to.shutdownSent = true;
  if (client_.shutdownSent && upstream_.shutdownSent) {
    owner_.onPumpClosed();
    return true;
  }
  return false;
}

}  // namespace readygate
