//! The `kehu` command: everything happens in `kehu::cli`.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a server's many threads
/// allocate and free small buffers all the time, which glibc's allocator
/// serves markedly slower (see ARCHITECTURE.md, "Speed").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    kehu::cli::main()
}
