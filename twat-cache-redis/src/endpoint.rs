//! Where the cache's data lives and how to reach it: one server, or a Redis Cluster.
//!
//! The URL forms:
//!
//! ```text
//! redis://[user:password@]host:port[/db]              one server (valkey:// too)
//! rediss://[user:password@]host:port[/db][#insecure]  one server over TLS (valkeys:// too)
//! redis+unix:///path/to/socket[?db=N&pass=..]         one server on a Unix socket
//! redis+cluster://[user:password@]h1:p1,h2:p2,...     a cluster, from any of its nodes
//! rediss+cluster://[user:password@]h1:p1,h2:p2,...    a cluster over TLS
//! ```
//!
//! (`valkey+cluster://` and `valkeys+cluster://` are the same as the `redis` forms.)
//! [`RedisOptions::cluster`] names the cluster's nodes in code instead.
//!
//! Every command goes through [`Conn`], which is either the `redis` crate's synchronous
//! [`Connection`] or its synchronous [`ClusterConnection`] (which follows `MOVED`/`ASK`
//! redirects and refreshes its slot map itself). The cache's own commands are all
//! single-key, or a single-key command followed by a `PUBLISH` in one pipeline: a
//! cluster sends such a pipeline to the node owning the key, and a `PUBLISH` on any
//! node of a cluster reaches the subscribers on every node (see the crate docs).

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Client, Cmd, Connection, ConnectionLike, RedisResult, Value};
use twat_cache_core::{ConfigError, Error};

use crate::masking::mask_url;

use crate::options::RedisOptions;
use crate::router::Router;
use crate::tls::TlsSettings;

/// How many retries the cluster client makes after a failed attempt (a `MOVED` after a
/// resharding needs one; a dead node should not cost more than two connect timeouts).
const CLUSTER_RETRIES: u32 = 1;

/// The shortest connect timeout of a TLS endpoint: opening a TLS connection also reads
/// the platform's root certificates (the `redis` crate does so for every connection;
/// 8–10 ms here in a release build, several times that in a debug build) and runs the
/// handshake, all within the connect timeout.
pub(crate) const TLS_CONNECT_TIMEOUT_FLOOR: Duration = Duration::from_millis(250);

/// The server or cluster a cache talks to.
pub(crate) enum Endpoint {
    /// One server.
    Single(Client),
    /// A cluster: the client, and one plain client per seed node for the invalidation
    /// subscriber (which may listen on any node).
    Cluster {
        client: ClusterClient,
        seeds: Vec<Client>,
    },
}

/// A connection to the server or to the cluster.
pub(crate) enum Conn {
    /// To one server.
    Single(Connection),
    /// To a cluster (one socket per node, opened as needed), with the router that sends
    /// hits straight to their node.
    Cluster(Box<ClusterConn>),
}

/// The `redis` crate's cluster connection and the [`Router`] of the hit path.
pub(crate) struct ClusterConn {
    cluster: ClusterConnection,
    router: Option<Router>,
}

/// Whether `url` names a cluster (`redis+cluster://` and its variants).
fn cluster_scheme(scheme: &str) -> Option<&'static str> {
    match scheme {
        "redis+cluster" => Some("redis"),
        "rediss+cluster" => Some("rediss"),
        "valkey+cluster" => Some("valkey"),
        "valkeys+cluster" => Some("valkeys"),
        _ => None,
    }
}

/// Whether a scheme asks for TLS.
pub(crate) fn is_tls_scheme(scheme: &str) -> bool {
    matches!(scheme, "rediss" | "valkeys")
}

fn invalid_url(url: &str, reason: &'static str) -> Error {
    Error::Config(ConfigError::InvalidRedisUrl {
        url: mask_url(url),
        reason,
    })
}

/// The node URLs of `scheme+cluster://[userinfo@]h1:p1,h2:p2[/db][?query][#fragment]`:
/// one `scheme://[userinfo@]hN:pN[/db][?query][#fragment]` per node, each checked with
/// the `url` crate.
pub(crate) fn cluster_node_urls(url: &str) -> Result<Option<Vec<String>>, Error> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(None);
    };
    let Some(node_scheme) = cluster_scheme(scheme) else {
        return Ok(None);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut nodes = Vec::new();
    for host in hosts.split(',').map(str::trim) {
        if host.is_empty() {
            return Err(invalid_url(url, "a cluster node in the list is empty"));
        }
        let node = match userinfo {
            Some(userinfo) => format!("{node_scheme}://{userinfo}@{host}{tail}"),
            None => format!("{node_scheme}://{host}{tail}"),
        };
        let parsed = url::Url::parse(&node)
            .map_err(|_| invalid_url(url, "a cluster node is not a valid host:port"))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid_url(url, "a cluster node has no host"));
        }
        nodes.push(node);
    }
    Ok(Some(nodes))
}

/// A node given to [`RedisOptions::cluster`]: a URL, or a bare `host:port` (plain TCP).
fn node_url(node: &str) -> String {
    if node.contains("://") {
        node.to_owned()
    } else {
        format!("redis://{node}")
    }
}

impl Endpoint {
    /// The endpoint `url` (or `options`' cluster nodes) names, with the TLS settings
    /// applied to `rediss://` nodes. Opens no connection. For a TLS endpoint, raises
    /// `options`' connect timeout to at least [`TLS_CONNECT_TIMEOUT_FLOOR`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidRedisUrl`] for a malformed URL or a TLS URL in a build
    /// without the `tls` feature; [`Error::Io`] when a certificate file named by the
    /// environment cannot be read; [`Error::Backend`] when the certificates do not parse.
    pub(crate) fn open(url: &str, options: &mut RedisOptions) -> Result<(Self, String), Error> {
        let cluster_nodes = if options.cluster_nodes.0.is_empty() {
            cluster_node_urls(url)?
        } else {
            Some(
                options
                    .cluster_nodes
                    .0
                    .iter()
                    .map(|n| node_url(n))
                    .collect(),
            )
        };
        match cluster_nodes {
            Some(nodes) => Self::open_cluster(&nodes, options),
            None => {
                let tls = Self::tls_for(url, options)?;
                if tls.is_some() {
                    options.connect_timeout =
                        options.connect_timeout.max(TLS_CONNECT_TIMEOUT_FLOOR);
                }
                let client = match &tls {
                    Some(tls) => tls.client(url)?,
                    None => Client::open(url)
                        .map_err(|_| invalid_url(url, "the redis client cannot parse it"))?,
                };
                Ok((Self::Single(client), mask_url(url)))
            }
        }
    }

    fn open_cluster(nodes: &[String], options: &mut RedisOptions) -> Result<(Self, String), Error> {
        let masked = nodes
            .iter()
            .map(|node| mask_url(node))
            .collect::<Vec<_>>()
            .join(",");
        let Some(first) = nodes.first() else {
            return Err(invalid_url("redis+cluster://", "the cluster has no nodes"));
        };
        let tls = Self::tls_for(first, options)?;
        if tls.is_some() {
            options.connect_timeout = options.connect_timeout.max(TLS_CONNECT_TIMEOUT_FLOOR);
        }
        let mut seeds = Vec::with_capacity(nodes.len());
        for node in nodes {
            let seed = match &tls {
                Some(tls) => tls.client(node)?,
                None => Client::open(node.as_str())
                    .map_err(|_| invalid_url(node, "the redis client cannot parse it"))?,
            };
            seeds.push(seed);
        }
        let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.command_timeout)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(1)
            .max_retry_wait(u64::try_from(options.command_timeout.as_millis()).unwrap_or(50));
        if let Some(tls) = &tls {
            builder = tls.cluster(builder);
        }
        let client = builder.build().map_err(|err| {
            Error::backend_with(
                twat_cache_core::EngineKind::Redis,
                format!("the cluster nodes {masked} cannot be used together: {err}"),
                err,
            )
        })?;
        Ok((Self::Cluster { client, seeds }, format!("cluster {masked}")))
    }

    /// The TLS settings for `url`: `None` for a plain URL.
    fn tls_for(url: &str, options: &RedisOptions) -> Result<Option<TlsSettings>, Error> {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if !is_tls_scheme(scheme) {
            return Ok(None);
        }
        TlsSettings::resolve(url, options).map(Some)
    }

    /// A fresh connection with the command timeouts applied, checked with `PING` (on a
    /// cluster: on every primary).
    pub(crate) fn connect(&self, options: &RedisOptions) -> RedisResult<Conn> {
        match self {
            Self::Single(client) => {
                let mut connection = client.get_connection_with_timeout(options.connect_timeout)?;
                connection.set_read_timeout(Some(options.command_timeout))?;
                connection.set_write_timeout(Some(options.command_timeout))?;
                redis::cmd("PING").query::<()>(&mut connection)?;
                Ok(Conn::Single(connection))
            }
            Self::Cluster { client, seeds } => {
                let mut cluster = client.get_connection()?;
                cluster.set_read_timeout(Some(options.command_timeout))?;
                cluster.set_write_timeout(Some(options.command_timeout))?;
                redis::cmd("PING").query::<()>(&mut cluster)?;
                let router = Router::new(seeds, options.connect_timeout, options.command_timeout);
                Ok(Conn::Cluster(Box::new(ClusterConn { cluster, router })))
            }
        }
    }

    /// The clients the invalidation subscriber tries in turn.
    pub(crate) fn subscriber_clients(&self) -> Vec<Client> {
        match self {
            Self::Single(client) => vec![client.clone()],
            Self::Cluster { seeds, .. } => seeds.clone(),
        }
    }
}

impl Conn {
    /// `GET key`: on a cluster, straight to the node owning the key when the router knows
    /// it (see [`crate::router`]).
    pub(crate) fn get<T: redis::FromRedisValue>(&mut self, key: &[u8]) -> RedisResult<T> {
        match self {
            Self::Single(connection) => redis::cmd("GET").arg(key).query(connection),
            Self::Cluster(connection) => {
                let ClusterConn { cluster, router } = &mut **connection;
                match router {
                    Some(router) => router.get(cluster, key),
                    None => redis::cmd("GET").arg(key).query(cluster),
                }
            }
        }
    }

    /// Unlinks every key matching `pattern` with `SCAN` + `UNLINK` in batches of about
    /// `batch` keys; on a cluster, on every primary, with the `UNLINK`s split by slot.
    pub(crate) fn unlink_matching(&mut self, pattern: &str, batch: usize) -> RedisResult<()> {
        self.scan_pages(pattern, batch, |connection, keys| unlink(connection, &keys))
    }

    /// Visits every key matching `pattern`, one `SCAN` page (about `batch` keys) at a
    /// time; on a cluster, every primary's keys (each primary has its own cursor). `visit`
    /// gets the page and the connection to act on it with: on a cluster, a page's keys
    /// all live on the node that answered, so a pipeline starting with one of them (the
    /// `redis` crate routes a pipeline by its first command) and a multi-key command
    /// (split by slot) both reach them.
    pub(crate) fn scan_pages(
        &mut self,
        pattern: &str,
        batch: usize,
        mut visit: impl FnMut(&mut dyn ConnectionLike, Vec<Vec<u8>>) -> RedisResult<()>,
    ) -> RedisResult<()> {
        let scan = |cursor: u64| {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(batch);
            scan
        };
        let mut page = |connection: &mut dyn ConnectionLike, keys: Vec<Vec<u8>>| {
            if keys.is_empty() {
                Ok(())
            } else {
                visit(connection, keys)
            }
        };
        if !self.is_cluster() {
            let mut cursor = 0;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = scan(cursor).query(self)?;
                page(self, keys)?;
                cursor = next;
                if cursor == 0 {
                    return Ok(());
                }
            }
        }
        // The first step on every primary at once; then each primary's own cursor.
        let first = self.route(
            &scan(0),
            RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
        )?;
        let Value::Map(per_node) = first else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "SCAN on every primary did not answer per node",
            )));
        };
        for (address, reply) in per_node {
            let address: String = redis::from_redis_value(address)?;
            let (mut cursor, keys): (u64, Vec<Vec<u8>>) = redis::from_redis_value(reply)?;
            page(self, keys)?;
            let Some((host, Ok(port))) = address
                .rsplit_once(':')
                .map(|(host, port)| (host, port.parse::<u16>()))
            else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "a primary's address is not host:port",
                    address,
                )));
            };
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                host: host.to_owned(),
                port,
            });
            while cursor != 0 {
                let reply = self.route(&scan(cursor), routing.clone())?;
                let (next, keys): (u64, Vec<Vec<u8>>) = redis::from_redis_value(reply)?;
                page(self, keys)?;
                cursor = next;
            }
        }
        Ok(())
    }

    /// `command` sent where `routing` says on a cluster; on one server, to it.
    fn route(&mut self, command: &Cmd, routing: RoutingInfo) -> RedisResult<Value> {
        match self {
            Self::Single(connection) => connection.req_command(command),
            Self::Cluster(connection) => connection.cluster.route_command(command, routing),
        }
    }

    /// Whether this is a cluster connection (whose pipelines must stay on one slot).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

/// `UNLINK`s `keys` (a page: never empty); a cluster connection splits them by slot.
fn unlink(connection: &mut dyn ConnectionLike, keys: &[Vec<u8>]) -> RedisResult<()> {
    redis::cmd("UNLINK").arg(keys).query::<()>(connection)
}

impl ConnectionLike for Conn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.cluster.req_packed_command(cmd),
        }
    }

    /// On a cluster, the whole pipeline goes to the node of its first command (the
    /// `redis` crate's rule): the cache only pipelines a single-key command followed by
    /// commands any node accepts (`PUBLISH`), so that node is the right one.
    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(cmd, offset, count),
            Self::Cluster(connection) => connection.cluster.req_packed_commands(cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match self {
            Self::Single(connection) => connection.req_command(cmd),
            Self::Cluster(connection) => connection.cluster.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.cluster.get_db(),
        }
    }

    /// `true` for both: see [`Conn::req_packed_commands`] for the cluster's rule.
    fn supports_pipelining(&self) -> bool {
        true
    }

    fn check_connection(&mut self) -> bool {
        match self {
            Self::Single(connection) => connection.check_connection(),
            Self::Cluster(connection) => connection.cluster.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::Single(connection) => connection.is_open(),
            Self::Cluster(connection) => connection.cluster.is_open(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_become_node_urls() {
        let nodes = cluster_node_urls("redis+cluster://u:pw@h1:7000,h2:7001/0?protocol=resp2")
            .unwrap()
            .unwrap();
        assert_eq!(
            nodes,
            [
                "redis://u:pw@h1:7000/0?protocol=resp2",
                "redis://u:pw@h2:7001/0?protocol=resp2"
            ]
        );
        let tls = cluster_node_urls("rediss+cluster://h1:1,[::1]:2")
            .unwrap()
            .unwrap();
        assert_eq!(tls, ["rediss://h1:1", "rediss://[::1]:2"]);
        assert!(cluster_node_urls("redis://h:1").unwrap().is_none());
        assert!(cluster_node_urls("redis+cluster://h1:1,,h2:2").is_err());
        assert!(cluster_node_urls("redis+cluster://h1:port").is_err());
    }
}
