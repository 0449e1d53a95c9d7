//! Bad usage: one clear line on stderr and exit status 2.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::twat_cache;
use predicates::prelude::*;

fn one_line(stderr: &[u8]) -> String {
    let text = String::from_utf8(stderr.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 1, "not one line: {text:?}");
    text
}

#[test]
fn bad_arguments_give_one_line_and_exit_2() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("plain")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["frobnicate"], "unrecognized subcommand"),
        (&["list", "--bogus"], "--bogus"),
        (&["purge", "x", "--older-than", "soon"], "soon"),
        (&["purge", "x", "--larger-than", "huge"], "huge"),
        (&["purge", "x"], "required"),
        (&["clear"], "required"),
        (
            &["verify", "nothing-here"],
            "no cache named \"nothing-here\"",
        ),
        (&["stats", "plain"], "not a twat-cache folder"),
    ];
    for (args, says) in cases {
        let output = twat_cache(root.path()).args(*args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let line = one_line(&output.stderr);
        assert!(line.starts_with("twat-cache: error: "), "{args:?}: {line}");
        assert!(line.contains(says), "{args:?}: {line}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_and_version_succeed() {
    let root = tempfile::tempdir().unwrap();
    twat_cache(root.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("verify"));
    twat_cache(root.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("twat-cache "));
}

#[test]
fn an_empty_or_missing_root_lists_no_caches() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("not-yet");
    twat_cache(&missing)
        .arg("list")
        .assert()
        .success()
        .stdout("no caches\n");
    twat_cache(&missing).arg("verify").assert().success();
}
