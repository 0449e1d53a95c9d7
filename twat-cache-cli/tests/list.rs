//! `twat-cache list`, `path` and `stats` on real folders written by the engines.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{disk_cache, fill_disk, fill_file, json_of, twat_cache};
use predicates::prelude::*;

#[test]
fn list_counts_what_the_engines_wrote() {
    let root = tempfile::tempdir().unwrap();
    fill_disk(root.path(), "reports", 25, 100);
    fill_file(root.path(), "arrays", 7, 10_000);
    std::fs::create_dir(root.path().join("not_a_cache")).unwrap();

    let output = twat_cache(root.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let listing = json_of(&output);
    assert_eq!(listing["root"], root.path().to_str().unwrap());
    let caches = listing["caches"].as_array().unwrap();
    let names: Vec<&str> = caches.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["arrays", "not_a_cache", "reports"]);

    let arrays = &caches[0];
    assert_eq!(arrays["engine"], "file");
    assert_eq!(arrays["entries"], 7);
    assert_eq!(arrays["caches"], 1);
    assert_eq!(arrays["in_use"], false);
    assert!(arrays["bytes_on_disk"].as_u64().unwrap() > 7 * 10_000);
    assert!(arrays["oldest"].as_str().unwrap().ends_with('Z'));

    assert_eq!(caches[1]["engine"], "other");
    assert!(caches[1]["entries"].is_null());

    let reports = &caches[2];
    assert_eq!(reports["engine"], "disk");
    assert_eq!(reports["entries"], 25);
    assert_eq!(reports["expired"], 0);
    assert_eq!(reports["damaged"], 0);
    assert_eq!(reports["in_use"], false);
    assert!(reports["bytes_on_disk"].as_u64().unwrap() > 0);

    // The table for people: one row per folder, human sizes and ages.
    twat_cache(root.path())
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("NAME"))
        .stdout(
            predicate::str::is_match(
                r"(?m)^reports\s+disk\s+25\s+[\d.]+ (B|KiB|MiB)\s+-\s+-\s+no$",
            )
            .unwrap(),
        )
        .stdout(
            predicate::str::is_match(
                r"(?m)^arrays\s+file\s+7\s+[\d.]+ KiB\s+\d+s ago\s+\d+s ago\s+no$",
            )
            .unwrap(),
        )
        .stdout(predicate::str::is_match(r"(?m)^not_a_cache\s+other\s+-\s+-").unwrap());
}

#[test]
fn a_folder_held_by_another_process_is_in_use_not_damaged() {
    let root = tempfile::tempdir().unwrap();
    let held = disk_cache(root.path(), "busy", "busy", None);
    held.set(&1_u32, &"kept").unwrap();

    let output = twat_cache(root.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let busy = &json_of(&output)["caches"][0];
    assert_eq!(busy["engine"], "disk");
    assert_eq!(busy["in_use"], true);
    assert!(busy["entries"].is_null());
    assert!(busy["damaged"].is_null());

    twat_cache(root.path())
        .args(["stats", "busy"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("in use")
                .and(predicate::str::contains("yes, by another process")),
        );
    // verify does not call it damaged: it says it could not look.
    twat_cache(root.path())
        .args(["verify", "busy"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "in use by another process, not checked",
        ))
        .stdout(predicate::str::contains("corrupt").not());
    assert_eq!(
        held.get::<_, String>(&1_u32).unwrap().as_deref(),
        Some("kept")
    );

    drop(held);
    twat_cache(root.path())
        .args(["verify", "busy"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sound"));
}

#[test]
fn a_symlink_out_of_the_root_is_listed_but_never_followed() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fill_file(outside.path(), "victim", 3, 100);
    std::os::unix::fs::symlink(outside.path().join("victim"), root.path().join("link")).unwrap();

    let output = twat_cache(root.path())
        .args(["list", "--json"])
        .output()
        .unwrap();
    let link = &json_of(&output)["caches"][0];
    assert_eq!(link["engine"], "symlink");
    assert!(link["entries"].is_null());
    assert_eq!(link["bytes_on_disk"], 0);

    for args in [
        &["verify", "link", "--repair"][..],
        &["clear", "link", "--yes"],
        &["purge", "link", "--larger-than", "0"],
        &["stats", "link"],
    ] {
        twat_cache(root.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("symlink"));
    }
    // --all skips it too.
    twat_cache(root.path())
        .args(["clear", "--all", "--yes"])
        .assert()
        .success();
    assert_eq!(common::index_files(&outside.path().join("victim")).len(), 3);
}

#[test]
fn path_names_the_root_and_cache_folders() {
    let root = tempfile::tempdir().unwrap();
    twat_cache(root.path())
        .arg("path")
        .assert()
        .success()
        .stdout(format!("{}\n", root.path().display()));
    twat_cache(root.path())
        .args(["path", "my_crate::reports"])
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            root.path().join("my_crate__reports").display()
        ));
    let other = tempfile::tempdir().unwrap();
    let output = twat_cache(root.path())
        .args([
            "--root",
            other.path().to_str().unwrap(),
            "path",
            "x",
            "--json",
        ])
        .output()
        .unwrap();
    let located = json_of(&output);
    assert_eq!(located["root"], other.path().to_str().unwrap());
    assert_eq!(located["exists"], false);
}

#[test]
fn stats_shows_one_cache_in_detail() {
    let root = tempfile::tempdir().unwrap();
    {
        let cache = disk_cache(
            root.path(),
            "mixed",
            "mixed",
            Some(std::time::Duration::from_secs(3600)),
        );
        cache.set(&1_u32, &1_u32).unwrap();
        cache.set(&2_u32, &2_u32).unwrap();
    }
    let output = twat_cache(root.path())
        .args(["stats", "mixed", "--json"])
        .output()
        .unwrap();
    let stats = json_of(&output);
    assert_eq!(stats["entries"], 2);
    assert_eq!(stats["expiring"], 2);
    assert_eq!(stats["caches"], 1);
    twat_cache(root.path())
        .args(["stats", "mixed"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^entries\s+2$").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^with a ttl\s+2$").unwrap());
}
