//! Decides, when the integration tests are built, which parts of the suite can run on this machine, so that
//! a part that cannot is reported by `cargo test` as ignored, with the reason, in the summary a person
//! reads, rather than passing silently:
//!
//! - `onramp_test_postgres`: `ONRAMP_TEST_POSTGRES_URL` is set, so every integration test also runs on
//!   PostgreSQL;
//! - `onramp_test_python_sdk`: the interpreter in `ONRAMP_TEST_PYTHON` (default `python3`) imports the
//!   official ConductorOne SDK;
//! - `onramp_test_smtp`: it imports aiosmtpd, the SMTP server of the mail tests;
//! - `onramp_test_schemathesis`: it imports schemathesis, which checks the server against `/openapi.json`;
//! - `onramp_test_scim2_tester`: it imports scim2_tester and httpx2, the SCIM conformance suite;
//! - `onramp_test_webhooks`: it imports standardwebhooks, which the webhook tests' receiver verifies with;
//! - `onramp_test_browser`: the browser journeys can run: `node` (20 or later) is on the PATH, Debian's
//!   Chromium is at `/usr/bin/chromium`, and `web-tests/node_modules` holds playwright-core and axe-core
//!   (`npm ci` in `web-tests`).
//!
//! With `CI` set, a missing part is a build error: CI must run the whole suite.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for variable in ["ONRAMP_TEST_POSTGRES_URL", "ONRAMP_TEST_PYTHON", "PYTHONPATH", "CI"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    for cfg in [
        "onramp_test_postgres",
        "onramp_test_python_sdk",
        "onramp_test_smtp",
        "onramp_test_schemathesis",
        "onramp_test_scim2_tester",
        "onramp_test_browser",
        "onramp_test_webhooks",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    let ci = std::env::var_os("CI").is_some();
    let require = |cfg: &str, available: Result<(), String>| match available {
        Ok(()) => println!("cargo::rustc-cfg={cfg}"),
        Err(problem) if ci => panic!("CI must run the whole test suite, but {problem}"),
        Err(problem) => println!("cargo::warning=the tests will skip a part: {problem}"),
    };

    let postgres = std::env::var("ONRAMP_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    require(
        "onramp_test_postgres",
        if postgres { Ok(()) } else { Err("ONRAMP_TEST_POSTGRES_URL is not set (PostgreSQL)".into()) },
    );
    let python = std::env::var("ONRAMP_TEST_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or("python3".into());
    require("onramp_test_python_sdk", imports(&python, "conductorone_sdk", "conductorone-sdk==0.17.2"));
    require("onramp_test_smtp", imports(&python, "aiosmtpd", "aiosmtpd==1.4.6"));
    require("onramp_test_schemathesis", imports(&python, "schemathesis", "schemathesis==4.32.5"));
    require(
        "onramp_test_scim2_tester",
        imports(&python, "scim2_tester", "scim2-tester==0.5.2")
            .and_then(|()| imports(&python, "httpx2", "'scim2-client[httpx2]==0.13.2'")),
    );
    require("onramp_test_browser", browser());
    require("onramp_test_webhooks", imports(&python, "standardwebhooks", "standardwebhooks==1.3.0"));
}

/// Debian's Chromium, which the journeys drive (a test tool's own browser download does not work here).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether the browser journeys can run, and if not, what is missing. Cargo runs this again when Chromium
/// or the installed npm packages change (`npm` rewrites `node_modules/.package-lock.json` on every
/// install); a path that does not exist yet is watched through the folder it will appear in, since cargo
/// would rerun the script on every build for a missing path.
fn browser() -> Result<(), String> {
    let web_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web-tests");
    let installed = web_tests.join("node_modules/.package-lock.json");
    let watch = |path: &Path, parent: &Path| {
        let watched = if path.exists() { path } else { parent };
        println!("cargo::rerun-if-changed={}", watched.display());
    };
    watch(Path::new(CHROMIUM), Path::new("/usr/bin"));
    watch(&installed, &web_tests);
    let node = Command::new("node").arg("--version").output();
    let version = match node {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).trim().to_string(),
        _ => return Err("`node` is not on the PATH (the browser journeys need Node.js 20 or later)".into()),
    };
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 20 {
        return Err(format!("`node` is {version}; the browser journeys need Node.js 20 or later"));
    }
    if !Path::new(CHROMIUM).exists() {
        return Err(format!("there is no {CHROMIUM} (apt-get install chromium)"));
    }
    for package in ["playwright-core", "axe-core"] {
        if !web_tests.join("node_modules").join(package).join("package.json").exists() {
            return Err(format!("web-tests/node_modules has no {package} (run `npm ci` in web-tests)"));
        }
    }
    Ok(())
}

/// Whether `python` can import `module`, and if not, what to do about it.
fn imports(python: &str, module: &str, package: &str) -> Result<(), String> {
    let output = Command::new(python).args(["-c", &format!("import {module}")]).output();
    match output {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(format!(
            "`{python}` cannot import {module} (pip install {package}, or set ONRAMP_TEST_PYTHON to an interpreter \
             that has it)"
        )),
    }
}
