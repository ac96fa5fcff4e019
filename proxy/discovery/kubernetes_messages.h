// What the Kubernetes API server answers for EndpointSlices: a list page, a watch event, a
// Status; parsed from JSON text, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/discovery/endpoint_slice.h"

namespace readygate {

/// A metav1.Status (an error answer, or an ERROR event's object).
struct ApiStatus {
  int code = 0;        // the HTTP code it stands for: 410 is "Gone / Expired"
  std::string reason;  // "Expired", "Gone", "Forbidden", ...
  std::string message;
};

/// One page of `GET .../endpointslices?limit=N`.
struct SliceListPage {
  std::vector<EndpointSlice> items;
  std::string resourceVersion;  // the list's, to watch from
  std::string continueToken;    // "" on the last page
};

std::variant<SliceListPage, std::string> parseSliceListPage(std::string_view text);

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Added;
  EndpointSlice slice;          // Added, Modified, Deleted (Bookmark: only its version)
  std::string resourceVersion;  // the object's metadata.resourceVersion
  ApiStatus status;             // Error
};

/// One watch event (a JSON object as JsonObjectStream cuts them). A slice that does not
/// parse, an unknown type or a missing object is an error: the caller watches again.
std::variant<WatchEvent, std::string> parseWatchEvent(std::string_view text);

/// An error answer's body as a Status; code 0 when it is not one (a proxy's HTML page).
ApiStatus parseApiStatus(std::string_view text);

const char* toString(WatchEvent::Type type);

}  // namespace readygate
