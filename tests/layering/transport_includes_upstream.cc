// Layering check (must NOT build): transport/ sits under every session and upstream; it
// never knows the upstream layer above it.
#include "proxy/upstream/upstream_pool.h"

int layeringWrongWayTransport() { return 0; }
