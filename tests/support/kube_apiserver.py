#!/usr/bin/python3
"""A Kubernetes API server for tests: EndpointSlices only, over HTTPS, as the API concepts
page (kubernetes.io/docs/reference/using-api/api-concepts/) describes them.

No kube-apiserver is packaged in Debian 12, so readygate's Kubernetes source is tested
against this one, and this one is checked against a real client (kubectl: see
tests/integration/kube_apiserver_kubectl_test.sh).

What it serves, for any namespace:
  GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices
      ?labelSelector=kubernetes.io/service-name=SVC  (or none: every slice of NS)
      &limit=N&continue=TOKEN       a paged list; an expired continue token is 410
      &watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=S
                                    a chunked stream of watch events from RV; an RV older
                                    than the retained history is 410 (as an HTTP status or
                                    as an ERROR event, as the control says)
  GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices/NAME
  GET /api, /apis, /apis/discovery.k8s.io/v1, /version   (discovery, for kubectl)
      &fieldSelector=metadata.name=NAME   one slice (kubectl wait, informers on one object)
Every request needs "Authorization: Bearer TOKEN" with a token the control accepts
(401 Status otherwise).

Control (plain HTTP on 127.0.0.1, JSON bodies), for the test to drive:
  PUT    /slices/NS/NAME        body: the slice object (metadata.labels carry the service)
  DELETE /slices/NS/NAME
  POST   /tokens                {"accept": ["t1", "t2"]}
  POST   /compact               forget the history up to now (older RVs get 410)
  POST   /drop-watches          end every open watch at once (no final chunk: a cut)
  POST   /mode                  {"goneAs": "status"|"event", "bookmarkSeconds": 1,
                                 "splitEvents": true, "failNext": [503, 429],
                                 "down": true|false, "watchMaxSeconds": 600,
                                 "expireContinue": true, "stallLists": true}
  GET    /requests              what was asked, newest last (method, path, query, auth ok)
Usage: kube_apiserver.py API_PORT CONTROL_PORT CERT KEY [TOKEN]
It prints "kube-apiserver listening" once both ports accept, and exits after 600 s.
"""
import base64
import copy
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

GROUP = "discovery.k8s.io"
SERVICE_LABEL = "kubernetes.io/service-name"


class State:
    def __init__(self, token):
        self.lock = threading.Condition()
        self.version = 1000
        self.slices = {}  # (ns, name) -> object
        self.history = []  # (rv, type, object) after the compaction point
        self.compacted = self.version
        self.tokens = {token} if token else set()
        self.gone_as = "event"
        self.bookmark_seconds = 1.0
        self.split_events = True
        self.fail_next = []
        self.down = False
        self.watch_max_seconds = 600.0
        self.expire_continue = False
        self.watch_generation = 0  # bumped by drop-watches
        self.stall_lists = False
        self.snapshots = {}  # list key -> (version, items): the pages of one list agree
        self.next_snapshot = 1
        self.requests = []

    def next_version(self):
        self.version += 1
        return str(self.version)

    def put(self, namespace, name, obj):
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta["name"] = name
            meta["namespace"] = namespace
            existed = (namespace, name) in self.slices
            meta["resourceVersion"] = self.next_version()
            obj.setdefault("apiVersion", GROUP + "/v1")
            obj.setdefault("kind", "EndpointSlice")
            self.slices[(namespace, name)] = obj
            self.history.append((self.version, "MODIFIED" if existed else "ADDED", obj))
            self.lock.notify_all()

    def delete(self, namespace, name):
        with self.lock:
            obj = self.slices.pop((namespace, name), None)
            if obj is None:
                return False
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = self.next_version()
            self.history.append((self.version, "DELETED", obj))
            self.lock.notify_all()
            return True


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def matches(obj, namespace, service, name=None):
    meta = obj.get("metadata", {})
    if meta.get("namespace") != namespace or (name is not None and meta.get("name") != name):
        return False
    return service is None or meta.get("labels", {}).get(SERVICE_LABEL) == service


def selector_name(query):
    """fieldSelector=metadata.name=NAME (what kubectl wait and client-go informers on one
    object send); None when there is none."""
    selector = query.get("fieldSelector", [""])[0]
    if not selector:
        return None
    key, _, value = selector.replace("==", "=").partition("=")
    return value if key == "metadata.name" else "\0unsupported-field-selector"


def selector_service(query):
    selector = query.get("labelSelector", [""])[0]
    if not selector:
        return None
    key, _, value = selector.partition("=")
    return value if key == SERVICE_LABEL else "\0no-such-service"


def discovery_document(path):
    if path == "/version":
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-readygate-test"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": []}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": GROUP, "versions": [{"groupVersion": GROUP + "/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": GROUP + "/v1", "version": "v1"}}]}
    if path == "/apis/" + GROUP + "/v1":
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP + "/v1",
                "resources": [{"name": "endpointslices", "singularName": "endpointslice",
                               "namespaced": True, "kind": "EndpointSlice",
                               "verbs": ["get", "list", "watch"], "shortNames": []}]}
    return None


def make_api_handler(state):
    class Api(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_json(self, code, body, extra=None):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            auth = self.headers.get("Authorization", "")
            with state.lock:
                authorized = auth.startswith("Bearer ") and auth[7:] in state.tokens
                state.requests.append({"method": "GET", "path": url.path, "query": url.query,
                                       "authorized": authorized})
                failure = state.fail_next.pop(0) if state.fail_next else None
            if not authorized:
                return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            if failure:
                reason = "TooManyRequests" if failure == 429 else "InternalError"
                return self.send_json(failure, status(failure, reason, "injected failure"),
                                      {"Retry-After": "1"} if failure == 429 else None)
            document = discovery_document(url.path)
            if document is not None:
                return self.send_json(200, document)
            parts = url.path.strip("/").split("/")
            # apis/discovery.k8s.io/v1/namespaces/NS/endpointslices[/NAME]
            if len(parts) in (6, 7) and parts[:3] == ["apis", GROUP, "v1"] and \
                    parts[3] == "namespaces" and parts[5] == "endpointslices":
                namespace = parts[4]
                if len(parts) == 7:
                    return self.get_one(namespace, parts[6])
                if query.get("watch", ["0"])[0] in ("1", "true"):
                    return self.watch(namespace, query)
                return self.list(namespace, query)
            return self.send_json(404, status(404, "NotFound", "the server could not find "
                                              "the requested resource"))

        def get_one(self, namespace, name):
            with state.lock:
                obj = state.slices.get((namespace, name))
            if obj is None:
                return self.send_json(404, status(404, "NotFound",
                                                  f'endpointslices.{GROUP} "{name}" not found'))
            return self.send_json(200, obj)

        def list(self, namespace, query):
            with state.lock:
                stall = state.stall_lists
            if stall:
                # A head, then nothing: a list that never completes.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"kind":')
                self.wfile.flush()
                time.sleep(30)
                return
            service = selector_service(query)
            name = selector_name(query)
            limit = int(query.get("limit", ["0"])[0] or 0)
            token = query.get("continue", [""])[0]
            with state.lock:
                if token:
                    try:
                        key, after = json.loads(base64.urlsafe_b64decode(token))
                    except (ValueError, TypeError):
                        return self.send_json(400, status(400, "BadRequest", "invalid continue"))
                    snapshot = state.snapshots.get(key)
                    if state.expire_continue or snapshot is None or snapshot[0] < state.compacted:
                        state.expire_continue = False
                        return self.send_json(410, status(
                            410, "Expired", "The provided continue parameter is too old to "
                            "display a consistent list result. You can start a new list "
                            "without the continue parameter."))
                    version, items = snapshot
                else:
                    # As etcd does: every page of one list is read at the first page's
                    # version, whatever changes meanwhile; a page starts after the last
                    # name of the one before (not at an offset, which deletions move).
                    version = state.version
                    items = sorted((copy.deepcopy(obj) for obj in state.slices.values()
                                    if matches(obj, namespace, service, name)),
                                   key=lambda obj: obj["metadata"]["name"])
                    key = state.next_snapshot
                    state.next_snapshot += 1
                    state.snapshots[key] = (version, items)
                    for old in [k for k in state.snapshots if k <= key - 64]:
                        del state.snapshots[old]  # bounded: an abandoned list expires
                    after = ""
                rest = [obj for obj in items if obj["metadata"]["name"] > after]
                page = rest[:limit] if limit > 0 else rest
                meta = {"resourceVersion": str(version)}
                if len(rest) > len(page):
                    meta["continue"] = base64.urlsafe_b64encode(
                        json.dumps([key, page[-1]["metadata"]["name"]]).encode()).decode()
                    meta["remainingItemCount"] = len(rest) - len(page)
            return self.send_json(200, {"kind": "EndpointSliceList", "apiVersion": GROUP + "/v1",
                                        "metadata": meta, "items": page})

        def watch(self, namespace, query):
            service = selector_service(query)
            name = selector_name(query)
            since = int(query.get("resourceVersion", ["0"])[0] or 0)
            bookmarks = query.get("allowWatchBookmarks", ["false"])[0] == "true"
            timeout = float(query.get("timeoutSeconds", ["1800"])[0] or 1800)
            with state.lock:
                gone = since != 0 and since < state.compacted
                gone_as = state.gone_as
                generation = state.watch_generation
                deadline = time.monotonic() + min(timeout, state.watch_max_seconds)
                if since == 0:
                    since = state.version
            if gone and gone_as == "status":
                return self.send_json(410, status(410, "Expired",
                                                  f"too old resource version: {since}"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if gone:
                self.chunk(json.dumps({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {since} "
                    f"({state.compacted})")}) + "\n")
                return self.end_chunks()
            sent = since
            last_bookmark = time.monotonic()
            while True:
                with state.lock:
                    events = [(rv, kind, obj) for rv, kind, obj in state.history
                              if rv > sent and matches(obj, namespace, service, name)]
                    newest = state.version
                    if not events:
                        wait = min(deadline, last_bookmark + state.bookmark_seconds) \
                            - time.monotonic()
                        if wait > 0:
                            state.lock.wait(wait)
                    # A watch accepted just before "down" may have read the generation
                    # after the bump: down itself ends it too.
                    dropped = state.watch_generation != generation or state.down
                    split = state.split_events
                    period = state.bookmark_seconds
                if dropped:
                    self.close_connection = True
                    return  # cut mid-stream: no final chunk
                for rv, kind, obj in events:
                    text = json.dumps({"type": kind, "object": obj}) + "\n"
                    if split and len(text) > 8:
                        # Events across chunk boundaries, as a real server may send them.
                        third = len(text) // 3
                        self.chunk(text[:third])
                        self.chunk(text[third:2 * third] + text[2 * third:])
                    else:
                        self.chunk(text)
                    sent = rv
                # Every matching event up to `newest` is out: a bookmark may say so.
                sent = max(sent, newest)
                now = time.monotonic()
                if now >= deadline:
                    return self.end_chunks()
                if bookmarks and now - last_bookmark >= period:
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": "EndpointSlice", "apiVersion": GROUP + "/v1",
                        "metadata": {"resourceVersion": str(sent)}}}) + "\n")
                    last_bookmark = now

        def chunk(self, text):
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def end_chunks(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Api


def make_control_handler(state, api_server):
    class Control(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self):
            if self.path == "/requests":
                with state.lock:
                    return self.answer(200, state.requests)
            if self.path == "/version":
                with state.lock:
                    return self.answer(200, {"resourceVersion": str(state.version)})
            self.answer(404, {})

        def do_PUT(self):
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "slices":
                state.put(parts[1], parts[2], self.body())
                return self.answer(200, {"resourceVersion": str(state.version)})
            self.answer(404, {})

        def do_DELETE(self):
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "slices":
                return self.answer(200 if state.delete(parts[1], parts[2]) else 404, {})
            self.answer(404, {})

        def do_POST(self):
            body = self.body()
            with state.lock:
                if self.path == "/tokens":
                    state.tokens = set(body.get("accept", []))
                elif self.path == "/compact":
                    # Every version up to now is gone: a watch from any of them is 410. The
                    # version moves past them, so a list made now is consistent and its
                    # continue tokens are good.
                    state.version += 1
                    state.compacted = state.version
                    state.history.clear()
                elif self.path == "/drop-watches":
                    state.watch_generation += 1
                    state.lock.notify_all()
                elif self.path == "/mode":
                    state.gone_as = body.get("goneAs", state.gone_as)
                    state.bookmark_seconds = float(body.get("bookmarkSeconds",
                                                            state.bookmark_seconds))
                    state.split_events = bool(body.get("splitEvents", state.split_events))
                    state.fail_next = list(body.get("failNext", state.fail_next))
                    state.watch_max_seconds = float(body.get("watchMaxSeconds",
                                                             state.watch_max_seconds))
                    state.expire_continue = bool(body.get("expireContinue",
                                                          state.expire_continue))
                    state.stall_lists = bool(body.get("stallLists", state.stall_lists))
                    if "down" in body and body["down"] != state.down:
                        state.down = bool(body["down"])
                        api_server.set_down(state.down)
                        state.watch_generation += 1  # a server going down ends its watches
                        state.lock.notify_all()
                else:
                    return self.answer(404, {})
            self.answer(200, {})

    return Control


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context):
        self.context = context
        self.down = False
        super().__init__(address, handler)

    def set_down(self, down):
        self.down = down

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), \
            address

    def verify_request(self, request, client_address):
        if self.down:  # "down": every connection is closed before any byte
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        try:
            request.settimeout(10)
            request.do_handshake()
            request.settimeout(None)
        except (OSError, ssl.SSLError):
            return False
        return True


def main():
    api_port, control_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    token = sys.argv[5] if len(sys.argv) > 5 else ""
    state = State(token)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    api = ApiServer(("127.0.0.1", api_port), make_api_handler(state), context)
    control = ThreadingHTTPServer(("127.0.0.1", control_port), make_control_handler(state, api))
    control.daemon_threads = True
    for server in (api, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("kube-apiserver listening", flush=True)
    time.sleep(600)  # bounded: a test kills it long before


if __name__ == "__main__":
    main()
