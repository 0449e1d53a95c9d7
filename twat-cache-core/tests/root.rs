//! Cache-root resolution and owner-only folders. Each check that sets an environment
//! variable runs in a child process, so tests never race on the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::process::Command;

const CHILD_ENV: &str = "TWAT_CACHE_ROOT_CHILD";

fn run_child(test: &str, envs: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env_remove("TWAT_CACHE_DIR")
        .env_remove("TWAT_CACHE_DISABLE");
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn root_comes_from_twat_cache_dir() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let root = twat_cache_core::root::cache_root().unwrap();
        let folder =
            twat_cache_core::root::resolve_folder(std::path::Path::new("reports")).unwrap();
        println!("ROOT={}", root.display());
        println!("FOLDER={}", folder.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run_child(
        "root_comes_from_twat_cache_dir",
        &[("TWAT_CACHE_DIR", dir.path().to_str().unwrap())],
    );
    assert!(
        out.contains(&format!("ROOT={}", dir.path().display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("FOLDER={}", dir.path().join("reports").display())),
        "{out}"
    );
}

#[test]
fn root_defaults_to_platform_cache_dir() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let root = twat_cache_core::root::cache_root().unwrap();
        println!("ROOT={}", root.display());
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let out = run_child(
        "root_defaults_to_platform_cache_dir",
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("XDG_CACHE_HOME", ""),
        ],
    );
    let root = out
        .lines()
        .find_map(|line| line.strip_prefix("ROOT="))
        .unwrap();
    assert!(root.ends_with("twat_cache"), "{out}");
}

#[test]
fn disable_flag_is_read() {
    if std::env::var_os(CHILD_ENV).is_some() {
        println!("DISABLED={}", twat_cache_core::root::is_disabled());
        return;
    }
    assert!(
        run_child("disable_flag_is_read", &[("TWAT_CACHE_DISABLE", "1")]).contains("DISABLED=true")
    );
    assert!(
        run_child("disable_flag_is_read", &[("TWAT_CACHE_DISABLE", "0")])
            .contains("DISABLED=false")
    );
    assert!(run_child("disable_flag_is_read", &[]).contains("DISABLED=false"));
}

#[test]
fn resolve_folder_refuses_escapes() {
    assert!(twat_cache_core::root::resolve_folder(std::path::Path::new("../x")).is_err());
}

#[cfg(unix)]
#[test]
fn secure_folders_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b");
    twat_cache_core::root::create_cache_dir(&path, true).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let file = path.join("entry");
    std::fs::write(&file, b"x").unwrap();
    twat_cache_core::root::restrict_permissions(&file, false).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
