// Layering check (must NOT build): net/ knows sessions, never the HTTP layer above it.
#include "proxy/http/http1_connection.h"

int layeringWrongWayHttp() { return 0; }
