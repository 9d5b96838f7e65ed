//! The `patron` command (see [`patron_store::cli`]).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(patron_store::cli::main(std::env::args_os()))
}
