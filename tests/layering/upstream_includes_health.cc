// Layering check (must NOT build): upstream/ including health/ runs back up a layer.
#include "proxy/health/rotation.h"

int layeringWrongWay() { return 0; }
