//! The `onramp` command. See `onramp --help`.

use std::process::ExitCode;

use clap::Parser;
use onramp::cli::{Cli, Command, console_link_notice, credential_notice, run_admin};
use onramp::config::{Config, LogFormat, unknown_env_keys};
use tracing_subscriber::EnvFilter;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("cannot listen for SIGTERM");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(cli.settings, cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("onramp: {error}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    for key in unknown_env_keys() {
        tracing::warn!(key, "unknown ONRAMP_ environment variable ignored (misspelt?)");
    }
    let result = match cli.command {
        Command::Serve => serve(&config).await,
        command => run_admin(command, &config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onramp: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
    let server = onramp::server::start(config, listener, shutdown_signal()).await?;
    if let Some(issued) = &server.bootstrap {
        println!("onramp: first start: created the default tenant and its super-admin ({}).\n", config.admin_email);
        print!("{}", credential_notice(issued, &server.public_url));
    }
    if let Some(link) = &server.console_link {
        println!();
        print!("{}", console_link_notice(link));
        println!("A new link: onramp signin-link --email {}\n", link.user.email_str());
    }
    println!("onramp: listening on http://{} ({})", server.addr, server.store.backend().name());
    server.wait().await?;
    Ok(())
}
