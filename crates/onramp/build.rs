//! Decides, when the integration tests are built, which parts of the suite can run on this machine, so that
//! a part that cannot is reported by `cargo test` as ignored, with the reason, in the summary a person
//! reads, rather than passing silently:
//!
//! - `onramp_test_postgres`: `ONRAMP_TEST_POSTGRES_URL` is set, so every integration test also runs on
//!   PostgreSQL;
//! - `onramp_test_python_sdk`: the interpreter in `ONRAMP_TEST_PYTHON` (default `python3`) imports the
//!   official ConductorOne SDK;
//! - `onramp_test_smtp`: it imports aiosmtpd, the SMTP server of the mail tests.
//!
//! With `CI` set, a missing part is a build error: CI must run the whole suite.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for variable in ["ONRAMP_TEST_POSTGRES_URL", "ONRAMP_TEST_PYTHON", "CI"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    for cfg in ["onramp_test_postgres", "onramp_test_python_sdk", "onramp_test_smtp"] {
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
