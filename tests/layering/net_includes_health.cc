// Layering check (must NOT build): net/ sessions read snapshots, never health state.
#include "proxy/health/service_members.h"

int layeringWrongWayNet() { return 0; }
