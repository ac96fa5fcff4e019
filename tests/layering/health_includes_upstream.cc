// Layering check (must build): health/ may include upstream/, a lower layer.
#include "proxy/upstream/service.h"

int layeringRightWay() { return 0; }
