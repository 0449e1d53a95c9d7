//! The hit path on a cluster: a `GET` sent straight to the node that owns its key.
//!
//! The `redis` crate's synchronous [`ClusterConnection`] routes every command itself: it
//! looks the command's name up to find its key, computes the slot, clones the owning
//! node's address (a `String`) twice and finds the node's socket in a `HashMap` keyed by
//! it. On a loopback hit that is about 0.4 µs of a 7 µs round trip, measured
//! (`benches/benches/redis_deploy.rs`, "hand-routed"). A [`Router`] does the same for a
//! `GET` with a slot table (one `u16` node index per slot, read from `CLUSTER SLOTS`) and
//! one plain connection per primary, opened on first use with the settings of the first
//! seed node (TLS certificates, credentials, database, protocol).
//!
//! The crate's connection stays the authority; the router only takes the case where its
//! table is known and its node answers:
//!
//! * The table is read lazily, at most every [`RELOAD_EVERY`], from the seed nodes in
//!   turn; while it is unknown, every `GET` takes the crate's path.
//! * A `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN` or any other error reply forgets the
//!   table and sends the `GET` again through the crate, which follows the redirect.
//! * A node that cannot be reached (refused, reset, closed) loses its socket, the table
//!   is forgotten, and the `GET` goes through the crate, which reconnects or refreshes
//!   its own map. A node that *times out* is reported as the timeout it is: asking again
//!   would only double the wait, and the caller's [`Link`](crate::link::Link) already
//!   counts it and marks the cluster down, as the crate's own timeout would.
//!
//! So an answer from the router is always the owning node's own reply to `GET key`.

use std::time::{Duration, Instant};

use redis::cluster::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Client, Cmd, ConnectionAddr, ConnectionInfo, ConnectionLike, RedisResult, Value};

/// How often the slot table may be read again after it was forgotten (or could not be
/// read): a cluster being resharded answers `MOVED` often, and the crate's own map
/// follows it meanwhile.
pub(crate) const RELOAD_EVERY: Duration = Duration::from_millis(100);

/// The number of hash slots of a Redis Cluster.
const SLOTS: usize = 16_384;

/// A slot no known primary serves.
const UNSERVED: u16 = u16::MAX;

/// One primary: its address and, once used, a plain connection to it.
struct Node {
    host: String,
    port: u16,
    connection: Option<redis::Connection>,
}

/// Direct `GET`s on a cluster (see the module docs).
pub(crate) struct Router {
    /// The first seed's connection settings: every node is reached with them.
    template: ConnectionInfo,
    /// The seed nodes' addresses, asked for the table in turn.
    seeds: Vec<(String, u16)>,
    connect_timeout: Duration,
    command_timeout: Duration,
    /// Node index per slot, or `None` while unknown.
    table: Option<Box<[u16]>>,
    nodes: Vec<Node>,
    /// When the table was last read (or tried).
    loaded_at: Option<Instant>,
}

impl Router {
    /// A router reaching nodes as `seeds` (at least one) are reached. Opens nothing.
    pub(crate) fn new(
        seeds: &[Client],
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Option<Self> {
        let template = seeds.first()?.get_connection_info().clone();
        let seeds = seeds
            .iter()
            .filter_map(|seed| host_port(seed.get_connection_info().addr()))
            .collect();
        Some(Self {
            template,
            seeds,
            connect_timeout,
            command_timeout,
            table: None,
            nodes: Vec::new(),
            loaded_at: None,
        })
    }

    /// `GET key`, from the owning node directly when the table knows it, else through
    /// `cluster` (see the module docs for which answer comes from where).
    pub(crate) fn get<T: redis::FromRedisValue>(
        &mut self,
        cluster: &mut ClusterConnection,
        key: &[u8],
    ) -> RedisResult<T> {
        let mut get = redis::cmd("GET");
        get.arg(key);
        if let Some(node) = self.node_for(cluster, key) {
            match self.direct(node, &get) {
                Ok(value) => return Ok(redis::from_redis_value(value)?),
                Err(err) if err.is_timeout() => {
                    self.forget(Some(node));
                    return Err(err);
                }
                Err(err) => {
                    let transport = is_transport(&err);
                    self.forget(transport.then_some(node));
                }
            }
        }
        get.query(cluster)
    }

    /// The index of the node serving `key`'s slot, reading the table first if it is
    /// unknown and may be read again.
    fn node_for(&mut self, cluster: &mut ClusterConnection, key: &[u8]) -> Option<usize> {
        if self.table.is_none() {
            if self.loaded_at.is_some_and(|at| at.elapsed() < RELOAD_EVERY) {
                return None;
            }
            self.loaded_at = Some(Instant::now());
            self.load(cluster);
        }
        let node = *self.table.as_ref()?.get(usize::from(key_slot(key)))?;
        (node != UNSERVED).then_some(usize::from(node))
    }

    /// `command` on `node`'s own connection, opened if needed; an error reply is an
    /// `Err`.
    fn direct(&mut self, node: usize, command: &Cmd) -> RedisResult<Value> {
        let target = self
            .nodes
            .get_mut(node)
            .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Client, "no such node")))?;
        if target.connection.is_none() {
            let addr = with_host_port(self.template.addr(), &target.host, target.port).ok_or_else(
                || redis::RedisError::from((redis::ErrorKind::Client, "not a TCP address")),
            )?;
            let client = Client::open(self.template.clone().set_addr(addr))?;
            let connection = client.get_connection_with_timeout(self.connect_timeout)?;
            connection.set_read_timeout(Some(self.command_timeout))?;
            connection.set_write_timeout(Some(self.command_timeout))?;
            target.connection = Some(connection);
        }
        let connection = target
            .connection
            .as_mut()
            .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Client, "no connection")))?;
        // An error reply (`MOVED`, `ASK`, ...) arrives as a value: make it the error it is.
        connection.req_command(command)?.extract_error()
    }

    /// Forgets the table (read again after [`RELOAD_EVERY`]) and `node`'s socket.
    fn forget(&mut self, node: Option<usize>) {
        self.table = None;
        if let Some(node) = node.and_then(|node| self.nodes.get_mut(node)) {
            node.connection = None;
        }
    }

    /// Reads the table from the first seed that answers `CLUSTER SLOTS`; leaves it
    /// unknown if none does. Keeps the sockets of nodes still serving slots.
    fn load(&mut self, cluster: &mut ClusterConnection) {
        let mut slots = redis::cmd("CLUSTER");
        slots.arg("SLOTS");
        for (host, port) in &self.seeds {
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                host: host.clone(),
                port: *port,
            });
            let Ok(reply) = cluster.route_command(&slots, routing) else {
                continue;
            };
            let Some(ranges) = parse_slots(reply, host) else {
                continue;
            };
            let mut table = vec![UNSERVED; SLOTS].into_boxed_slice();
            let mut nodes: Vec<Node> = Vec::new();
            for (start, end, host, port) in ranges {
                let index = match nodes.iter().position(|n| n.host == host && n.port == port) {
                    Some(index) => index,
                    None => {
                        let kept = self
                            .nodes
                            .iter_mut()
                            .find(|n| n.host == host && n.port == port)
                            .and_then(|n| n.connection.take());
                        nodes.push(Node {
                            host,
                            port,
                            connection: kept,
                        });
                        nodes.len() - 1
                    }
                };
                let Ok(index) = u16::try_from(index) else {
                    return;
                };
                for slot in table.iter_mut().take(end + 1).skip(start) {
                    *slot = index;
                }
            }
            self.nodes = nodes;
            self.table = Some(table);
            return;
        }
    }
}

/// Whether `err` means the node could not be talked to (as opposed to a reply).
fn is_transport(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
}

/// The host and port of a TCP (or TLS) address.
fn host_port(addr: &ConnectionAddr) -> Option<(String, u16)> {
    match addr {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            Some((host.clone(), *port))
        }
        _ => None,
    }
}

/// `addr` (TCP or TLS, with its certificates) pointed at `host:port` instead.
fn with_host_port(addr: &ConnectionAddr, host: &str, port: u16) -> Option<ConnectionAddr> {
    match addr {
        ConnectionAddr::Tcp(..) => Some(ConnectionAddr::Tcp(host.to_owned(), port)),
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => Some(ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        }),
        _ => None,
    }
}

/// The primaries' slot ranges in a `CLUSTER SLOTS` reply from the node at
/// `answering_host`: `(first slot, last slot, host, port)`. An empty, missing or
/// wildcard host means the answering node's; a range whose primary is unknown (`?`) is
/// left out (its slots go through the crate). `None` for a reply of another shape.
fn parse_slots(reply: Value, answering_host: &str) -> Option<Vec<(usize, usize, String, u16)>> {
    let Value::Array(items) = reply else {
        return None;
    };
    let mut ranges = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(item) = item else {
            return None;
        };
        let mut fields = item.into_iter();
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(primary))) =
            (fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return None;
        };
        if start > end || end >= SLOTS {
            return None;
        }
        let mut primary = primary.into_iter();
        let host = match primary.next() {
            Some(Value::BulkString(host)) => String::from_utf8(host).ok()?,
            Some(Value::SimpleString(host)) => host,
            Some(Value::Nil) => String::new(),
            _ => return None,
        };
        let Some(Value::Int(port)) = primary.next() else {
            return None;
        };
        let port = u16::try_from(port).ok()?;
        let host = match host.as_str() {
            "?" => continue,
            "" | "0.0.0.0" | "::" => answering_host.to_owned(),
            _ => host,
        };
        ranges.push((start, end, host, port));
    }
    Some(ranges)
}

/// The cluster hash slot of `key`: CRC-16/XMODEM of the key, or of its hash tag (the
/// bytes between the first `{` and the next `}`, when not empty), modulo 16 384.
pub(crate) fn key_slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    let crc = hashed.iter().fold(0_u16, |crc, &byte| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) ^ u16::from(byte))]
    });
    // SLOTS is a power of two: the remainder is the low 14 bits.
    crc & 0x3FFF
}

/// The hash tag of `key`, Redis's rule.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&byte| byte == b'{')?;
    let rest = key.get(open + 1..)?;
    let close = rest.iter().position(|&byte| byte == b'}')?;
    let tag = rest.get(..close)?;
    (!tag.is_empty()).then_some(tag)
}

/// CRC-16/XMODEM (polynomial 0x1021), one entry per byte value.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0_u16; 256];
    let mut byte = 0;
    while byte < 256 {
        #[allow(clippy::cast_possible_truncation, reason = "byte < 256")]
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(key_slot(b"123456789"), 0x31C3 & 0x3FFF);
        assert_eq!(key_slot(b"foo"), 12_182);
        assert_eq!(key_slot(b"bar"), 5_061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn slot_replies_parse() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
            ]),
            Value::Array(vec![Value::Int(5461), Value::Int(10922), node("", 7001)]),
            Value::Array(vec![Value::Int(10923), Value::Int(16383), node("?", 7002)]),
        ]);
        assert_eq!(
            parse_slots(reply, "seed").unwrap(),
            [
                (0, 5460, "10.0.0.1".to_owned(), 7000),
                (5461, 10922, "seed".to_owned(), 7001)
            ]
        );
        let out_of_range = Value::Array(vec![Value::Array(vec![
            Value::Int(0),
            Value::Int(16_384),
            node("h", 1),
        ])]);
        assert!(parse_slots(out_of_range, "seed").is_none());
        assert!(parse_slots(Value::Okay, "seed").is_none());
    }
}
