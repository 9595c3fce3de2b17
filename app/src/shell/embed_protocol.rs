//! `glassbox/1`, the messages between an embedded widget and the page that
//! embeds it, as pure functions: parsing the host's commands, writing the
//! widget's messages, the `origin=` trust rule and the embed's `hide=`.
//! `embed_bridge.rs` connects them to the browser (postMessage, a
//! ResizeObserver, the router).
//!
//! Every message is a JSON object `{ns: "glassbox", v: 1, type, ...}`.
//! Widget to host: `ready {widget, query}`, `resize {height}`,
//! `state {query}`, `result {id, query}`, and beside each `resize` the
//! `{context: "iframe.resize", src, height}` that Observable-style hosts
//! already understand. Host to widget: `setState {query}`, `getState {id}`,
//! `setTheme {theme}`. Anything else is ignored.

use serde_json::{json, Value};

use crate::shell::{theme::Theme, url_state::PAGE_PARAMS};

pub const NS: &str = "glassbox";
pub const VERSION: u64 = 1;

/// A query longer than this is not a widget's state (the longest, a DETR
/// canvas, is a few kilobytes); it is ignored rather than parsed.
const MAX_QUERY_LEN: usize = 64 * 1024;
/// A `getState` id is echoed back; a string id longer than this is ignored.
const MAX_ID_LEN: usize = 256;

/// A command from the embedding page, already checked for shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the widget as if its URL had this query (no leading `?`).
    SetState {
        query: String,
    },
    /// Answer with `result {id, query}`; `id` is a string or a number.
    GetState {
        id: Value,
    },
    SetTheme {
        theme: Theme,
    },
}

/// The command in a message, or `None` for anything that is not a
/// well-formed `glassbox/1` command (other libraries' messages included).
pub fn parse_command(message: &Value) -> Option<Command> {
    let object = message.as_object()?;
    if object.get("ns")?.as_str()? != NS || object.get("v")?.as_u64()? != VERSION {
        return None;
    }
    match object.get("type")?.as_str()? {
        "setState" => {
            let query = object.get("query")?.as_str()?;
            (query.len() <= MAX_QUERY_LEN).then(|| Command::SetState {
                query: query.trim_start_matches('?').to_string(),
            })
        }
        "getState" => {
            let id = object.get("id")?;
            let usable = match id {
                Value::String(s) => s.len() <= MAX_ID_LEN,
                Value::Number(_) => true,
                _ => false,
            };
            usable.then(|| Command::GetState { id: id.clone() })
        }
        "setTheme" => Theme::from_slug(object.get("theme")?.as_str()?)
            .map(|theme| Command::SetTheme { theme }),
        _ => None,
    }
}

fn message(kind: &str, fields: Value) -> Value {
    let mut message = json!({ "ns": NS, "v": VERSION, "type": kind });
    if let (Some(out), Value::Object(fields)) = (message.as_object_mut(), fields) {
        out.extend(fields);
    }
    message
}

pub fn ready(widget: &str, query: &str) -> Value {
    message("ready", json!({ "widget": widget, "query": query }))
}

pub fn resize(height: u32) -> Value {
    message("resize", json!({ "height": height }))
}

/// The same height in the convention Observable's embeds use, which some
/// hosts already auto-size iframes by.
pub fn iframe_resize(src: &str, height: u32) -> Value {
    json!({ "context": "iframe.resize", "src": src, "height": height })
}

pub fn state(query: &str) -> Value {
    message("state", json!({ "query": query }))
}

pub fn result(id: &Value, query: &str) -> Value {
    message("result", json!({ "id": id, "query": query }))
}

fn pairs(search: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(search.trim_start_matches('?')).unwrap_or_default()
}

fn is_page_param(key: &str) -> bool {
    PAGE_PARAMS.contains(&key)
}

/// The widget's part of a URL query: what `ready`, `state` and `result`
/// report, and what a host passes back in `setState`. The page's own
/// parameters (backend, theme, origin, hide, …) are left out.
pub fn widget_query(search: &str) -> String {
    let kept: Vec<_> = pairs(search)
        .into_iter()
        .filter(|(k, _)| !is_page_param(k))
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// The query a `setState` navigates to: the host's widget parameters
/// followed by the current page parameters. The host cannot change page
/// parameters this way (in particular not `origin=`, its own restriction).
pub fn set_state_search(current_search: &str, host_query: &str) -> String {
    let mut next: Vec<_> = pairs(host_query)
        .into_iter()
        .filter(|(k, _)| !is_page_param(k))
        .collect();
    next.extend(
        pairs(current_search)
            .into_iter()
            .filter(|(k, _)| is_page_param(k)),
    );
    serde_urlencoded::to_string(next).unwrap_or_default()
}

/// Whom the widget talks to, from the embed's `origin=` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTrust {
    /// No `origin=`: commands from the parent window are obeyed whatever
    /// its origin, and messages are posted with target origin `*`.
    AnyOrigin,
    /// `origin=` named this origin: only it is obeyed and posted to.
    Only(String),
    /// `origin=` was not an origin: nothing is obeyed or posted, since the
    /// embedder meant to restrict and a typo must not open the widget up.
    Nobody,
}

impl HostTrust {
    pub fn from_search(search: &str) -> HostTrust {
        match pairs(search).into_iter().find(|(k, _)| k == "origin") {
            None => HostTrust::AnyOrigin,
            Some((_, value)) => normalize_origin(&value).map_or(HostTrust::Nobody, HostTrust::Only),
        }
    }

    /// postMessage's `targetOrigin`, or `None` to post nothing.
    pub fn target_origin(&self) -> Option<&str> {
        match self {
            HostTrust::AnyOrigin => Some("*"),
            HostTrust::Only(origin) => Some(origin),
            HostTrust::Nobody => None,
        }
    }

    /// Whether a message event's `origin` may command the widget.
    pub fn accepts(&self, event_origin: &str) -> bool {
        match self {
            HostTrust::AnyOrigin => true,
            HostTrust::Only(origin) => normalize_origin(event_origin).as_deref() == Some(origin),
            HostTrust::Nobody => false,
        }
    }
}

/// An origin as browsers serialize it (`scheme://host[:port]`, lower case,
/// default port dropped), or `None` if `value` is not one. A trailing `/`
/// is forgiven.
pub fn normalize_origin(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = value.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let authority_ok = !authority.is_empty()
        && !authority.contains(|c: char| "/?#@\\ ".contains(c) || c.is_control());
    if !scheme_ok || !authority_ok {
        return None;
    }
    let authority = match (scheme, authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host,
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// The embed's `data-hide` attribute from `hide=text,controls`: the known
/// parts, space separated (CSS matches them with `~=`), or `None`.
pub fn hidden_parts(search: &str) -> Option<String> {
    let mut parts: Vec<&'static str> = Vec::new();
    for (_, value) in pairs(search).into_iter().filter(|(k, _)| k == "hide") {
        for part in value.split(',').map(str::trim) {
            let known = ["text", "controls"].into_iter().find(|p| *p == part);
            if let Some(p) = known.filter(|p| !parts.contains(p)) {
                parts.push(p);
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(v: Value) -> Option<Command> {
        parse_command(&v)
    }

    #[test]
    fn well_formed_commands_parse() {
        assert_eq!(
            cmd(json!({"ns": "glassbox", "v": 1, "type": "setState", "query": "?m=2&k=3"})),
            Some(Command::SetState {
                query: "m=2&k=3".into()
            })
        );
        assert_eq!(
            cmd(json!({"ns": "glassbox", "v": 1, "type": "getState", "id": "a1"})),
            Some(Command::GetState { id: json!("a1") })
        );
        assert_eq!(
            cmd(json!({"ns": "glassbox", "v": 1, "type": "getState", "id": 7})),
            Some(Command::GetState { id: json!(7) })
        );
        assert_eq!(
            cmd(json!({"ns": "glassbox", "v": 1, "type": "setTheme", "theme": "dark"})),
            Some(Command::SetTheme { theme: Theme::Dark })
        );
    }

    #[test]
    fn malformed_and_unknown_messages_are_ignored() {
        let ignored = [
            json!(null),
            json!("setState"),
            json!(42),
            json!([1, 2]),
            json!({}),
            json!({"type": "setState", "query": "m=2"}),
            json!({"ns": "other", "v": 1, "type": "setState", "query": "m=2"}),
            json!({"ns": "glassbox", "v": 2, "type": "setState", "query": "m=2"}),
            json!({"ns": "glassbox", "v": "1", "type": "setState", "query": "m=2"}),
            json!({"ns": "glassbox", "v": 1, "type": "setstate", "query": "m=2"}),
            json!({"ns": "glassbox", "v": 1, "type": "ready", "widget": "x", "query": ""}),
            json!({"ns": "glassbox", "v": 1, "type": "setState"}),
            json!({"ns": "glassbox", "v": 1, "type": "setState", "query": 5}),
            json!({"ns": "glassbox", "v": 1, "type": "setState", "query": "m=".repeat(40_000)}),
            json!({"ns": "glassbox", "v": 1, "type": "getState"}),
            json!({"ns": "glassbox", "v": 1, "type": "getState", "id": {"a": 1}}),
            json!({"ns": "glassbox", "v": 1, "type": "getState", "id": null}),
            json!({"ns": "glassbox", "v": 1, "type": "getState", "id": "x".repeat(300)}),
            json!({"ns": "glassbox", "v": 1, "type": "setTheme", "theme": "purple"}),
            json!({"ns": "glassbox", "v": 1, "type": "setTheme"}),
            json!({"context": "iframe.resize", "src": "x", "height": 3}),
        ];
        for message in ignored {
            assert_eq!(parse_command(&message), None, "{message}");
        }
    }

    #[test]
    fn outgoing_messages_carry_the_namespace_and_version() {
        assert_eq!(
            ready("gpu-selftest", "m=2"),
            json!({"ns": "glassbox", "v": 1, "type": "ready", "widget": "gpu-selftest", "query": "m=2"})
        );
        assert_eq!(
            resize(412),
            json!({"ns": "glassbox", "v": 1, "type": "resize", "height": 412})
        );
        assert_eq!(
            state(""),
            json!({"ns": "glassbox", "v": 1, "type": "state", "query": ""})
        );
        assert_eq!(
            result(&json!(3), "seed=1"),
            json!({"ns": "glassbox", "v": 1, "type": "result", "id": 3, "query": "seed=1"})
        );
        assert_eq!(
            iframe_resize("http://a/embed/x", 9),
            json!({"context": "iframe.resize", "src": "http://a/embed/x", "height": 9})
        );
        // What the widget sends is not something it would obey.
        assert_eq!(parse_command(&result(&json!(3), "seed=1")), None);
    }

    #[test]
    fn the_widget_query_leaves_out_page_parameters() {
        assert_eq!(
            widget_query("?m=2&backend=cpu&origin=http%3A%2F%2Fa&hide=text&seed=4"),
            "m=2&seed=4"
        );
        assert_eq!(widget_query(""), "");
    }

    #[test]
    fn set_state_keeps_the_page_parameters_and_not_the_hosts() {
        assert_eq!(
            set_state_search(
                "?m=1&backend=cpu&origin=http%3A%2F%2Fhost%3A1",
                "m=5&origin=http%3A%2F%2Fevil&seed=2&colour=red"
            ),
            "m=5&seed=2&colour=red&backend=cpu&origin=http%3A%2F%2Fhost%3A1"
        );
        assert_eq!(set_state_search("", ""), "");
    }

    #[test]
    fn origin_restricts_commands_and_the_target() {
        assert_eq!(HostTrust::from_search("?m=1"), HostTrust::AnyOrigin);
        assert_eq!(HostTrust::AnyOrigin.target_origin(), Some("*"));
        assert!(HostTrust::AnyOrigin.accepts("https://anyone.example"));

        let only = HostTrust::from_search("?origin=HTTPS%3A%2F%2FDocs.Example%3A443%2F");
        assert_eq!(only, HostTrust::Only("https://docs.example".into()));
        assert_eq!(only.target_origin(), Some("https://docs.example"));
        assert!(only.accepts("https://docs.example"));
        assert!(!only.accepts("https://docs.example.evil"));
        assert!(!only.accepts("http://docs.example"));
        assert!(!only.accepts("null"));

        assert_eq!(
            normalize_origin("https://[::1]:443").as_deref(),
            Some("https://[::1]")
        );
        let local = HostTrust::from_search("?origin=http%3A%2F%2F127.0.0.1%3A8080");
        assert!(local.accepts("http://127.0.0.1:8080"));
        assert!(!local.accepts("http://127.0.0.1:8081"));

        for bad in [
            "?origin=",
            "?origin=docs.example",
            "?origin=https%3A%2F%2Fa%2Fpath",
        ] {
            let trust = HostTrust::from_search(bad);
            assert_eq!(trust, HostTrust::Nobody, "{bad}");
            assert_eq!(trust.target_origin(), None);
            assert!(!trust.accepts("https://docs.example"));
        }
    }

    #[test]
    fn hide_keeps_known_parts_once() {
        assert_eq!(
            hidden_parts("?hide=text,controls").as_deref(),
            Some("text controls")
        );
        assert_eq!(
            hidden_parts("?hide=controls,%20bogus,controls").as_deref(),
            Some("controls")
        );
        assert_eq!(hidden_parts("?hide=bogus"), None);
        assert_eq!(hidden_parts("?m=1"), None);
    }

    #[test]
    fn the_host_script_fits_in_two_kilobytes() {
        let script = include_str!("../../embed.js");
        assert!(script.len() <= 2048, "embed.js is {} bytes", script.len());
        assert!(script.contains("resize"));
    }
}
