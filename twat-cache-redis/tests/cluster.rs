#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
//! Redis Cluster: a real 3-primary cluster on loopback ports. Keys spread over every
//! primary, `clear` scans each of them, leases and front invalidations work across
//! slots, and a primary killed mid-run costs counted errors, never a wrong answer.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{RedisCluster, eventually, open_with, test_options};

#[test]
fn keys_spread_over_every_primary_and_clear_scans_them_all() {
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let cache = open_with(&cluster.url(), "spread", test_options());
    assert!(cache.is_up());
    for i in 0..300_u32 {
        cache.set(&i, &(i * 2)).unwrap();
    }
    for i in 0..300_u32 {
        assert_eq!(cache.get::<_, u32>(&i).unwrap(), Some(i * 2));
    }
    let per_node = cluster.keys_per_node(cache.key_prefix());
    assert_eq!(per_node.iter().sum::<usize>(), 300);
    assert!(per_node.iter().all(|&n| n > 0), "{per_node:?}");
    assert!(cache.remove(&7_u32).unwrap());
    assert_eq!(cache.get::<_, u32>(&7_u32).unwrap(), None);

    // Another cache's keys and foreign keys survive the clear.
    let neighbour = open_with(&cluster.url(), "neighbour", test_options());
    neighbour.set(&1_u32, &1_u32).unwrap();
    cache.clear().unwrap();
    assert_eq!(cluster.keys_per_node(cache.key_prefix()), [0, 0, 0]);
    assert_eq!(neighbour.get::<_, u32>(&1_u32).unwrap(), Some(1));
    assert_eq!(cache.stats().errors, 0);

    // The options form names the cluster in code, here by one node only.
    let seed = format!("127.0.0.1:{}", cluster.nodes[2].port);
    let by_options = open_with(
        "redis://unused:1",
        "neighbour",
        test_options().cluster([seed]),
    );
    assert_eq!(by_options.get::<_, u32>(&1_u32).unwrap(), Some(1));
}

#[test]
fn leases_and_front_invalidation_across_slots() {
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    // One computation per key, whichever slot the key and its lease fall in.
    let runs = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = cluster.url();
            let runs = Arc::clone(&runs);
            std::thread::spawn(move || {
                let cache = open_with(&url, "leases", test_options());
                for key in 0..20_u32 {
                    let value: u32 = cache.get_or_compute_with_lease(&key, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        key + 1
                    });
                    assert_eq!(value, key + 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(runs.load(Ordering::SeqCst), 20);

    // Fronts of two "processes": writes on every node reach the other's front.
    let reader = open_with(&cluster.url(), "fronts", test_options().l1_entries(1_000));
    let writer = open_with(&cluster.url(), "fronts", test_options().l1_entries(1_000));
    assert!(eventually(Duration::from_secs(10), || {
        reader.is_front_live() && writer.is_front_live()
    }));
    for key in 0..30_u32 {
        writer.set(&key, &0_u32).unwrap();
        assert_eq!(reader.get::<_, u32>(&key).unwrap(), Some(0)); // now in reader's front
    }
    for key in 0..30_u32 {
        writer.set(&key, &1_u32).unwrap();
    }
    assert!(eventually(Duration::from_secs(5), || {
        (0..30_u32).all(|key| reader.get::<_, u32>(&key).unwrap() == Some(1))
    }));
    assert_eq!(reader.stats().errors, 0);
}

#[test]
fn a_primary_killed_mid_run() {
    let Some(mut cluster) = RedisCluster::start(3) else {
        return;
    };
    let cache = open_with(&cluster.url(), "killed", test_options());
    let compute = |key: u32| key.wrapping_mul(2_654_435_761);
    let call = |key: u32| cache.get_or_compute_with_lease(&key, || compute(key));
    for key in 0..100 {
        assert_eq!(call(key), compute(key));
    }
    assert_eq!(cache.stats().errors, 0);

    cluster.nodes[1].kill_now();
    // Every answer stays right while a third of the slots is gone.
    for round in 0..3 {
        for key in 0..100 {
            assert_eq!(call(key), compute(key), "round {round}, key {key}");
        }
    }
    let errors = cache.stats().errors;
    assert!(errors > 0, "a dead primary is counted");

    cluster.nodes[1].resume_from_kill();
    cluster.wait_ok();
    // Recovery: the cache reconnects and serves hits again from every primary.
    assert!(eventually(Duration::from_secs(20), || {
        cache.is_up() && cache.set(&"probe", &1_u8).is_ok()
    }));
    for key in 0..100 {
        cache.set(&key, &compute(key)).unwrap();
    }
    let hits_before = cache.stats().hits;
    for key in 0..100 {
        assert_eq!(call(key), compute(key));
    }
    assert_eq!(cache.stats().hits, hits_before + 100);
}

#[test]
fn a_one_primary_cluster() {
    let Some(cluster) = RedisCluster::start(1) else {
        return;
    };
    let cache = open_with(&cluster.url(), "one", test_options());
    for i in 0..50_u32 {
        cache.set(&i, &i).unwrap();
    }
    assert_eq!(cache.get::<_, u32>(&7_u32).unwrap(), Some(7));
    cache.clear().unwrap();
    assert_eq!(cluster.keys_per_node(cache.key_prefix()), [0]);
}

/// Sends `args` to `node` as one command.
fn on(node: &common::RedisServer, args: &[&str]) -> redis::Value {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(&mut node.raw()).unwrap()
}

#[test]
fn hits_stay_right_while_a_slot_moves() {
    // The hit path sends a `GET` straight to the node its slot table names; while a slot
    // migrates that node answers `ASK`, after it `MOVED`: both must end in the right
    // value, through the `redis` crate's redirects, without a counted error.
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let cache = open_with(&cluster.url(), "moving", test_options());
    let value = |key: u32| key.wrapping_mul(40_503);
    for key in 0..200_u32 {
        cache.set(&key, &value(key)).unwrap();
    }
    let read_all = |stage: &str| {
        for key in 0..200_u32 {
            assert_eq!(
                cache.get::<_, u32>(&key).unwrap(),
                Some(value(key)),
                "{stage}, key {key}"
            );
        }
    };
    read_all("before the move"); // the router now knows the table

    // A slot of node 0 that holds entries moves to node 1.
    let (from, to) = (&cluster.nodes[0], &cluster.nodes[1]);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", cache.key_prefix()))
        .query(&mut from.raw())
        .unwrap();
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&keys[0])
        .query(&mut from.raw())
        .unwrap();
    let slot = slot.to_string();
    let id = |node: &common::RedisServer| -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut node.raw())
            .unwrap()
    };
    let (from_id, to_id) = (id(from), id(to));
    on(to, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
    on(from, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
    let moving: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(&slot)
        .arg(1_000)
        .query(&mut from.raw())
        .unwrap();
    let mut migrate = redis::cmd("MIGRATE");
    migrate
        .arg("127.0.0.1")
        .arg(to.port)
        .arg("")
        .arg(0)
        .arg(5_000)
        .arg("KEYS")
        .arg(&moving);
    migrate.query::<()>(&mut from.raw()).unwrap();
    read_all("mid-migration (ASK)");

    for node in &cluster.nodes {
        on(node, &["CLUSTER", "SETSLOT", &slot, "NODE", &to_id]);
    }
    read_all("after the move (MOVED)");
    std::thread::sleep(Duration::from_millis(150)); // the table may be read again
    read_all("with the table read again");
    assert_eq!(
        cluster
            .keys_per_node(cache.key_prefix())
            .iter()
            .sum::<usize>(),
        200
    );
    assert_eq!(cache.stats().errors, 0);
    assert_eq!(cache.stats().hits, 800);
}
