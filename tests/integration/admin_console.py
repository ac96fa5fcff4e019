#!/usr/bin/python3
"""The admin console in a real browser (Debian's chromium through chromedriver, selenium).

    admin_console.py test READYGATE FAKEPOD OUTDIR
        starts fakepods and a readygate with an admin token, and checks the page: no console
        error and no request off the admin origin, every backend with its state, a pod switched
        not ready shown within 2 s with its reason and an event, drain refused without the
        token and done with it, a pod's hostile string shown as text, the phone layout.
        Screenshots go to OUTDIR.
    admin_console.py screenshot URL OUT.png [SECONDS]
        a screenshot of a running console (make rollout-demo makes docs/images/ from it).
    admin_console.py render URL [REFRESHES]
        prints the browser's time to render one refresh (bench/admin_console.sh).

Every wait has a deadline; the browser gets 60 s at most for any one step.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

failures = 0


def check(ok, what):
    global failures
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if not ok:
        failures += 1


def wait_for(seconds, condition, step=0.05):
    """condition()'s first true value, or None at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except Exception:  # a page mid-render: try again
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser(width=1280, height=800):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-extensions",
                 f"--window-size={width},{height}", "--user-data-dir=" + tempfile.mkdtemp()):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def http(method, url, token=None, origin=None):
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if origin:
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def backend_status(admin, address):
    _, body = http("GET", f"http://{admin}/status")
    for service in json.loads(body)["services"]:
        for backend in service["backends"]:
            if backend["address"] == address:
                return backend
    return None


def row(driver, address):
    return driver.find_element(By.CSS_SELECTOR, f'tr[data-backend="{address}"]')


def row_state(driver, address):
    return row(driver, address).find_element(By.CSS_SELECTOR, "td:nth-child(2) .state").text


def refreshes(driver):
    return int(driver.execute_script("return window.readygateConsole.refreshes"))


def run_test(readygate, fakepod, outdir):
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="readygate-console-")
    hostile = "<img src=x onerror=alert(1)>"
    ports = [free_port() for _ in range(3)]
    admin = f"127.0.0.1:{free_port()}"
    origin = f"http://{admin}"
    token = "console-test-token-1234"
    with open(f"{work}/token", "w") as f:
        f.write(token + "\n")
    names = ["pod-a", "pod-b", hostile]
    addresses = [f"127.0.0.1:{port}" for port in ports]
    with open(f"{work}/readygate.yaml", "w") as f:
        f.write(f"""admin: {{listen: "{admin}", tokenFile: {work}/token}}
workers: 1
services:
  - name: web
    listen: 127.0.0.1:{free_port()}
    mode: http
    endpoints: {{static: [{", ".join(f'"{a}"' for a in addresses)}]}}
    readinessProbe: {{httpGet: {{path: /ready}}, periodSeconds: 0.25, failureThreshold: 1}}
""")
    processes = []
    try:
        for name, port in zip(names, ports):
            processes.append(subprocess.Popen([fakepod, "--name", name, "--port", str(port)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        log = open(f"{work}/readygate.log", "w")
        processes.append(subprocess.Popen([readygate, "-c", f"{work}/readygate.yaml"],
                                          stdout=log, stderr=log))
        up = wait_for(10, lambda: http("GET", f"{origin}/healthz")[0] == 200)
        check(up, "readygate's admin API answers")
        all_ready = wait_for(10, lambda: all(
            (backend_status(admin, a) or {}).get("state") == "ready" for a in addresses))
        check(all_ready, "every fakepod is ready by /status")

        driver = browser()
        try:
            driver.get(origin + "/")
            shown = wait_for(10, lambda: all(row_state(driver, a) == "ready" for a in addresses))
            check(shown, "the page shows every backend, each ready")
            check(all(row_state(driver, a) == "ready" for a in addresses) and
                  driver.find_element(By.CSS_SELECTOR, ".service h2").text == "web",
                  "each row's state is written out (not colour alone) and the service has its panel")

            # The hostile pod: its name comes back in its probe answer's first line.
            message = row(driver, addresses[2]).find_element(By.CSS_SELECTOR, ".probes .message").text
            check(message == hostile + " ready", f"the hostile probe answer is shown as text: {message!r}")
            images = driver.execute_script("return document.querySelectorAll('img').length")
            try:
                driver.switch_to.alert
                alerted = True
            except NoAlertPresentException:
                alerted = False
            check(images == 0 and not alerted, f"no markup from a pod: {images} <img>, alert {alerted}")

            # A pod switched not ready, on the page within 2 s with its reason and an event.
            before = refreshes(driver)
            wait_for(5, lambda: refreshes(driver) > before)
            switched = time.monotonic()
            http("GET", f"http://{addresses[1]}/control/ready/off")
            turned = wait_for(5, lambda: row_state(driver, addresses[1]) == "not ready", step=0.02)
            elapsed = time.monotonic() - switched
            check(turned and elapsed < 2.0, f"a pod switched not ready shows not_ready after {elapsed:.2f} s")
            reason = row(driver, addresses[1]).find_element(By.CSS_SELECTOR, "td:nth-child(4) .reason").text
            check(reason == "http_503", f"with reason {reason!r}")
            event = wait_for(3, lambda: [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#timeline li.event")
                                         if addresses[1] in item.text and "not ready" in item.text])
            check(event and "http_503" in event[0], f"the timeline has the change: {event}")

            # A keyboard user's place survives the refreshes (rows and panels are updated in
            # place, not redrawn).
            for where, selector in (("a backend's", f'tr[data-backend="{addresses[0]}"] button[data-action="disable"]'),
                                    ("a service's", ".service button")):
                button = driver.find_element(By.CSS_SELECTOR, selector)
                driver.execute_script("arguments[0].focus()", button)
                now = refreshes(driver)
                wait_for(5, lambda: refreshes(driver) >= now + 2)
                try:
                    kept = driver.execute_script("return document.activeElement === arguments[0]", button)
                except StaleElementReferenceException:
                    kept = False  # redrawn: the button it had is gone, and the focus with it
                check(kept, f"{where} focused button keeps the focus across two refreshes")

            # Drain without the token: the page asks for it, nothing changes.
            check(not driver.find_element(By.ID, "token-form").is_displayed(),
                  "the page does not ask for a token it has not needed yet")
            drain = row(driver, addresses[0]).find_element(By.CSS_SELECTOR, 'button[data-action="drain"]')
            drain.click()
            asked = wait_for(5, lambda: driver.find_element(By.ID, "token-form").is_displayed())
            check(asked, "without the token, drain makes the page ask for it")
            check(backend_status(admin, addresses[0])["admin_state"] == "enabled",
                  "and the backend is not drained")
            driver.find_element(By.ID, "token-input").send_keys("not-the-token")
            driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
            refused = wait_for(5, lambda: driver.find_element(By.ID, "token-form").is_displayed() and
                               "refused" in driver.find_element(By.ID, "token-why").text)
            check(refused and backend_status(admin, addresses[0])["admin_state"] == "enabled",
                  "a wrong token is refused and still nothing is drained")
            driver.find_element(By.ID, "token-input").clear()
            driver.find_element(By.ID, "token-input").send_keys(token)
            driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
            drained = wait_for(5, lambda: backend_status(admin, addresses[0])["state"] == "draining")
            check(drained, "with the token, the pending drain is done (by /status)")
            check(not driver.find_element(By.ID, "token-form").is_displayed(),
                  "and the token form is gone")
            on_page = wait_for(3, lambda: row_state(driver, addresses[0]) == "draining")
            check(on_page, "and the page shows it draining")
            stored = driver.execute_script("return sessionStorage.getItem('readygate-admin-token')")
            check(stored == token, "the token is kept in sessionStorage")
            row(driver, addresses[0]).find_element(By.CSS_SELECTOR, 'button[data-action="enable"]').click()
            enabled = wait_for(5, lambda: backend_status(admin, addresses[0])["admin_state"] == "enabled")
            check(enabled, "enable with the kept token works without asking again")
            driver.find_element(By.ID, "reload").click()
            reloaded = wait_for(5, lambda: driver.find_element(By.ID, "notice").text.startswith("reloaded"))
            check(reloaded, "Reload answers on the page: " + driver.find_element(By.ID, "notice").text)
            driver.save_screenshot(f"{outdir}/admin-console.png")

            # The CSRF checks still hold outside the page: a foreign Origin gets 403 even
            # with the token.
            code, _ = http("POST", f"{origin}/backends/web/{addresses[0]}/drain", token=token,
                           origin="http://evil.example")
            check(code == 403, f"a POST from another origin is refused ({code})")

            # Nothing left the admin origin, and the browser logged no error.
            urls = set()
            for entry in driver.get_log("performance"):
                message = json.loads(entry["message"])["message"]
                # The page's own requests (the browser's start tab makes chrome:// ones).
                if (message["method"] == "Network.requestWillBeSent" and
                        message["params"].get("documentURL", "").startswith(origin + "/")):
                    urls.add(message["params"]["request"]["url"])
            foreign = sorted(u for u in urls if not u.startswith(origin + "/"))
            check(urls and not foreign, f"{len(urls)} distinct requests, none off the admin origin {foreign}")
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                      and "401" not in e["message"]]
            check(not errors, f"no console error {errors}")

            # A phone-sized viewport: nothing wider than the screen, every row still there.
            driver.set_window_size(390, 844)
            fits = wait_for(5, lambda: driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1"))
            check(fits, "on a 390 px wide viewport the page needs no sideways scrolling")
            check(all(row(driver, a).is_displayed() for a in addresses), "and shows every backend")
            driver.save_screenshot(f"{outdir}/admin-console-phone.png")
        finally:
            driver.quit()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"screenshots: {outdir}/admin-console.png, {outdir}/admin-console-phone.png")
    if failures:
        print(f"admin_console: {failures} check(s) failed", file=sys.stderr)
        print(open(f"{work}/readygate.log").read()[-3000:], file=sys.stderr)
        return 1
    print("admin_console: all checks passed")
    return 0


def run_screenshot(url, out, seconds=0):
    driver = browser(1280, 1350)  # tall enough for the timeline under the table
    try:
        driver.get(url)
        wait_for(10, lambda: refreshes(driver) >= 2)
        time.sleep(float(seconds))  # a moment of the deploy chosen by the caller, not a sync
        driver.save_screenshot(out)
    finally:
        driver.quit()
    print(f"screenshot of {url}: {out}")
    return 0


def run_render(url, count=10):
    """Mean and worst time (ms) the page took to draw one refresh, after it came."""
    driver = browser(1280, 800)
    try:
        driver.get(url)
        wait_for(30, lambda: refreshes(driver) >= 2, step=0.1)
        samples = []
        for _ in range(int(count)):
            done = refreshes(driver)
            wait_for(10, lambda: refreshes(driver) > done, step=0.02)
            samples.append((driver.execute_script("return window.readygateConsole.lastRenderMs"),
                            driver.execute_script("return window.readygateConsole.lastFetchMs")))
        rows = driver.execute_script("return document.querySelectorAll('#backends tbody tr').length")
    finally:
        driver.quit()
    render = [s[0] for s in samples]
    fetch = [s[1] for s in samples]
    print(f"render_ms_mean={sum(render) / len(render):.1f} render_ms_max={max(render):.1f} "
          f"fetch_ms_mean={sum(fetch) / len(fetch):.1f} rows={rows} refreshes={len(samples)}")
    return 0


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "test" and len(sys.argv) == 5:
        sys.exit(run_test(*sys.argv[2:]))
    if mode == "screenshot" and len(sys.argv) in (4, 5):
        sys.exit(run_screenshot(*sys.argv[2:]))
    if mode == "render" and len(sys.argv) in (3, 4):
        sys.exit(run_render(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
