// Admin API route handlers.
#include "proxy/app/admin_api.h"

#include <event2/http.h>

#include <cstdlib>

#include "proxy/admin/console_assets.h"
#include "proxy/admin/console_view.h"
#include "proxy/admin/shared_render.h"
#include "proxy/admin/status_report.h"
#include "proxy/core/json_writer.h"
#include "proxy/core/log.h"

namespace readygate {
namespace {

std::string uriDecode(const std::string& text) {
  char* decoded = evhttp_uridecode(text.c_str(), 0, nullptr);
  if (decoded == nullptr) return text;
  std::string result(decoded);
  free(decoded);
  return result;
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(uriDecode(path.substr(start, slash - start)));
    start = slash + 1;
  }
  return parts;
}

AdminResponse readyz(const AdminApiState& state) {
  if (state.counters.shuttingDown) return jsonError(503, "shutting down");
  if (state.config.admin.readyRequiresBackends) {
    for (const auto& members : state.services.all()) {
      if (!members->retired() && members->readyCount() == 0) {
        return jsonError(503, "service " + members->service().name() + " has no ready backend");
      }
    }
  }
  return AdminResponse{200, "text/plain", "ready\n"};
}

/// POST /backends/{service}/{address}/{drain|disable|enable}, as HAProxy's
/// `set server <backend>/<server> state ready|drain|maint`.
AdminResponse backendAction(const AdminApiState& state, const AdminRequest& request) {
  std::vector<std::string> parts = splitPath(request.path);
  if (parts.size() != 4 || parts[0] != "backends") {
    return jsonError(404, "expected /backends/{service}/{address}/{drain|disable|enable}");
  }
  const std::string& serviceName = parts[1];
  const std::string& address = parts[2];
  const std::string& action = parts[3];
  AdminState target;
  if (action == "drain") {
    target = AdminState::Draining;
  } else if (action == "disable") {
    target = AdminState::Disabled;
  } else if (action == "enable") {
    target = AdminState::Enabled;
  } else {
    return jsonError(404, "unknown action \"" + action + "\"; use drain, disable or enable");
  }
  auto parsed = SocketAddress::parse(address);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    return jsonError(400, "bad backend address \"" + address + "\": " + *error);
  }
  const SocketAddress& backend = std::get<SocketAddress>(parsed);
  std::string canonical = backend.toString();
  ServiceMembers* members = state.services.find(serviceName);
  if (members == nullptr) return jsonError(404, "no such service: " + serviceName);
  if (!members->setAdminState(backend, target)) {
    return jsonError(404, "service " + serviceName + " has no backend " + canonical);
  }
  logEvent(LogLevel::Info, "admin_action",
           {{"service", serviceName}, {"backend", canonical}, {"action", action}});
  JsonWriter json;
  json.beginObject();
  json.key("service").value(serviceName);
  json.key("backend").value(canonical);
  json.key("admin_state").value(toString(target));
  if (const auto* member = members->find(backend)) {
    json.key("state").value(toString(member->view.state));
    json.key("in_rotation").value(member->view.inRotation);
  }
  json.endObject();
  return AdminResponse{200, "application/json", json.str() + "\n"};
}

/// POST /reload: as SIGHUP, but the answer says what happened: 200 with the changes,
/// or 400 with every error (the running configuration stays).
AdminResponse reload(const AdminApiState& state) {
  ReloadOutcome outcome = state.reload();
  JsonWriter json;
  json.beginObject();
  json.key("applied").value(outcome.applied);
  if (!outcome.applied) {
    json.key("error").value("reload rejected; the running configuration stays");
  }
  json.key(outcome.applied ? "changes" : "errors").beginArray();
  for (const std::string& line : outcome.applied ? outcome.changes : outcome.errors) {
    json.value(line);
  }
  json.endArray();
  json.endObject();
  return AdminResponse{outcome.applied ? 200 : 400, "application/json", json.str() + "\n"};
}

/// GET /status?summary=1&service=S&offset=N&limit=M&events_since=K, any part alone: what
/// the console fetches once a second, small however many backends there are.
AdminResponse consoleView(const AdminApiState& state, const AdminRequest& request) {
  auto parsed = parseConsoleQuery(request.query);
  if (auto* error = std::get_if<std::string>(&parsed)) return jsonError(400, *error);
  const ConsoleQuery& query = std::get<ConsoleQuery>(parsed);
  std::optional<std::string> view =
      renderConsoleView(state.services.all(), state.services.events(), query, state.clock.now());
  if (!view) return jsonError(404, "no such service: " + query.service.value_or(""));
  return AdminResponse{200, "application/json", std::move(*view)};
}

/// GET /events?since=N: the state changes numbered N or later (all kept ones without N).
AdminResponse events(const AdminApiState& state, const AdminRequest& request) {
  std::optional<uint64_t> since = parseEventsQuery(request.query);
  if (!since) return jsonError(400, "expected /events?since=N with N a sequence number");
  return AdminResponse{200, "application/json", renderEvents(state.services.events(), *since)};
}

/// Constant time in the token's length: how much of a guess matched stays hidden.
bool sameToken(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    unsigned char c = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    difference |= static_cast<unsigned char>(c ^ static_cast<unsigned char>(expected[i]));
  }
  return difference == 0;
}

/// "host" of a Host header or an Origin's authority, without port or brackets.
std::string hostOnly(std::string_view text) {
  if (size_t scheme = text.find("://"); scheme != std::string_view::npos)
    text = text.substr(scheme + 3);
  if (text.starts_with("[")) {
    size_t close = text.find(']');
    return std::string(
        text.substr(1, close == std::string_view::npos ? text.size() - 1 : close - 1));
  }
  return std::string(text.substr(0, text.find(':')));
}

bool isIpLiteral(const std::string& host) {
  return std::holds_alternative<SocketAddress>(SocketAddress::fromHostPort(host, 1));
}

/// A Host (or Origin host) this admin API answers to: its own address, any address
/// when it listens on all of them, "localhost" on loopback, or a configured name.
bool ownHost(const AdminConfig& admin, const std::string& host) {
  for (const std::string& name : admin.names) {
    if (name == host) return true;
  }
  std::string bound = admin.listen.host();
  bool wildcard = bound == "0.0.0.0" || bound == "::";
  if (wildcard) return isIpLiteral(host);  // names could be rebound: only the configured ones
  if (host == bound) return true;
  bool loopback = bound.rfind("127.", 0) == 0 || bound == "::1";
  return loopback && host == "localhost";
}

}  // namespace

std::optional<AdminResponse> refuse(const AdminConfig& admin, const std::string& token,
                                    const AdminRequest& request, bool mutating) {
  if (mutating) {
    if (!ownHost(admin, hostOnly(request.host))) {
      return jsonError(403, "Host \"" + request.host + "\" is not this admin API");
    }
    if (!request.origin.empty() && !ownHost(admin, hostOnly(request.origin))) {
      return jsonError(403, "Origin \"" + request.origin + "\" may not act here");
    }
  }
  if (token.empty() || (!mutating && !admin.tokenForReads)) return std::nullopt;
  const std::string prefix = "Bearer ";
  std::string given = request.authorization.rfind(prefix, 0) == 0
                          ? request.authorization.substr(prefix.size())
                          : std::string();
  if (!sameToken(given, token)) {
    AdminResponse response =
        jsonError(401, "a bearer token is required (Authorization: Bearer ...)");
    return response;
  }
  return std::nullopt;
}

void installAdminRoutes(AdminServer& server, AdminApiState state) {
  // Liveness and readiness answer anyone, even with tokenForReads: the kubelet, a load
  // balancer or a container HEALTHCHECK ask without credentials, and learn only "up" and
  // "ready". Every other route goes through `refuse`: POST routes act (drain, disable,
  // reload), GETs read.
  server.route("GET", "/healthz", [](const AdminRequest&) {
    return AdminResponse{200, "text/plain", "ok\n"};
  });
  server.route("GET", "/readyz", [state](const AdminRequest&) { return readyz(state); });
  // The console's page and files are the same for everyone and hold no data: a browser's
  // navigation sends no Bearer header, so they need none. What they fetch follows the rules.
  auto console = [](const AdminRequest& request) {
    std::optional<ConsoleAsset> asset = consoleAsset(request.path);
    if (!asset) return jsonError(404, "no such endpoint: " + request.path);
    return AdminResponse{200, asset->contentType, std::string(asset->bytes)};
  };
  server.route("GET", "/", console);
  server.route("GET", "/console/", console);
  auto route = [&](const char* method, const char* path, AdminServer::Handler handler) {
    bool mutating = std::string_view(method) != "GET";
    server.route(method, path,
                 [state, mutating, handler = std::move(handler)](const AdminRequest& request) {
                   if (auto refused = refuse(state.config.admin, state.token, request, mutating)) {
                     return *refused;
                   }
                   return handler(request);
                 });
  };
  // A render still being sent to someone (a slow reader holds it) is shared by the
  // scrapes that come meanwhile: 64 clients that never read cost one render, not 64
  // renders and 64 copies of 13 MB.
  auto rendered = std::make_shared<SharedRender>(state.clock, kMetricsRenderSeconds);
  route("GET", "/metrics", [state, rendered](const AdminRequest&) {
    std::shared_ptr<const std::string> text =
        rendered->get([&] { return renderMetrics(state.services.all(), state.counters); });
    AdminResponse response{200, "text/plain; version=0.0.4; charset=utf-8"};
    response.sharedBody = std::move(text);
    return response;
  });
  route("GET", "/status", [state](const AdminRequest& request) {
    if (isConsoleQuery(request.query)) return consoleView(state, request);
    if (request.query == "format=text") {
      return AdminResponse{200, "text/plain",
                           renderStatusTable(state.services.all(), state.clock.now())};
    }
    return AdminResponse{
        200, "application/json",
        renderStatusJson(state.services.all(), state.probeTiming, state.clock.now()) + "\n"};
  });
  route("GET", "/events", [state](const AdminRequest& request) { return events(state, request); });
  route("POST", "/reload", [state](const AdminRequest&) { return reload(state); });
  route("POST", "/backends/",
        [state](const AdminRequest& request) { return backendAction(state, request); });
}

}  // namespace readygate
