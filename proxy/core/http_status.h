// The reason phrase of an HTTP status code, for every response readygate writes itself.
#pragma once

namespace readygate {

/// "Not Found" for 404; "OK" for another 2xx/3xx, "Error" for another code.
const char* httpStatusText(int status);

}  // namespace readygate
