// What a reload may change: which differences between two configs need a restart instead.
#pragma once

#include <string>
#include <vector>

#include "config/config_types.h"

namespace readygate {

/// Differences between the running and the new configuration that a reload cannot
/// apply, one message each; empty when the new one can be applied in place. Today only
/// each service's endpoints.static may change (as pgbouncer, settings that cannot change
/// at runtime are named and the reload is rejected, the running config stays).
std::vector<std::string> unreloadableChanges(const Config& running, const Config& next);

}  // namespace readygate
