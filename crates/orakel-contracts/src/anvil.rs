//! Where to find the pinned `anvil` binary.
//!
//! `scripts/setup-foundry.sh` installs anvil from the npm package `@foundry-rs/anvil-linux-amd64`
//! into `contracts/node_modules`. Tools look for it in this order:
//! 1. the path in `$ORAKEL_ANVIL`,
//! 2. `anvil` on `PATH`,
//! 3. `contracts/node_modules/.bin/anvil` in this source checkout.

use std::path::{Path, PathBuf};

/// Environment variable naming the anvil binary to use.
pub const ANVIL_ENV: &str = "ORAKEL_ANVIL";

/// Where `scripts/setup-foundry.sh` puts anvil, relative to the workspace root (a symlink to
/// `contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`).
pub const ANVIL_NPM_PATH: &str = "contracts/node_modules/.bin/anvil";

/// The workspace root of the checkout this crate was built from.
#[must_use]
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Finds anvil: `$ORAKEL_ANVIL`, then `PATH`, then [`ANVIL_NPM_PATH`] under [`workspace_root`].
///
/// Returns `None` when none of them is an existing file. A set but wrong `$ORAKEL_ANVIL` is not
/// skipped silently: it is returned as is, so starting it fails with its path in the error.
#[must_use]
pub fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(ANVIL_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if let Some(paths) = std::env::var_os("PATH")
        && let Some(found) = std::env::split_paths(&paths)
            .map(|dir| dir.join("anvil"))
            .find(|candidate| candidate.is_file())
    {
        return Some(found);
    }
    let npm = workspace_root().join(ANVIL_NPM_PATH);
    npm.is_file().then_some(npm)
}
