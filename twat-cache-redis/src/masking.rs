//! Redis URLs fit for logs and error messages: no password, wherever the URL carries one.

use twat_cache_core::mask_password;

/// `url` fit for logs: core's [`mask_password`] for `user:password@`, plus the
/// `pass=` / `password=` query parameters `redis+unix://` URLs carry.
pub(crate) fn mask_url(url: &str) -> String {
    let masked = mask_password(url);
    let Some((base, query)) = masked.split_once('?') else {
        return masked;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _))
                if name.eq_ignore_ascii_case("pass") || name.eq_ignore_ascii_case("password") =>
            {
                format!("{name}=***")
            }
            _ => param.to_owned(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_for_logs() {
        assert_eq!(
            mask_url("redis+unix:///run/redis.sock?db=2&pass=hunter2"),
            "redis+unix:///run/redis.sock?db=2&pass=***"
        );
        assert_eq!(
            mask_url("redis://u:hunter2@h:1/0?password=x"),
            "redis://u:***@h:1/0?password=***"
        );
        assert_eq!(mask_url("redis://h:1"), "redis://h:1");
        assert_eq!(
            mask_url("redis+cluster://u:hunter2@h1:1,h2:2"),
            "redis+cluster://u:***@h1:1,h2:2"
        );
    }
}
