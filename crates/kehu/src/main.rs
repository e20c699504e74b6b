//! The `kehu` command: everything happens in `kehu::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    kehu::cli::main()
}
