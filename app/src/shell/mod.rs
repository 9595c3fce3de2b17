//! What every page shares: the chrome and routes' pages, language, theme,
//! the backend, URL state, offline use, presentation mode, embeds and
//! chunks; and the types a chapter is made of (`chapter.rs`). Nothing here
//! names a chapter: the registry (`crate::chapters`) lists them.

pub mod assets;
pub mod chapter;
pub mod chunks;
pub mod embed_bridge;
pub mod embed_protocol;
pub mod file_picker;
pub mod format;
pub mod in_flight;
pub mod lang;
pub mod live_backend;
pub mod math;
pub mod motion;
pub mod nav;
pub mod offline;
pub mod pad_keys;
pub mod page_parts;
pub mod pages;
pub mod present;
pub mod script;
pub mod text;
pub mod theme;
pub mod url_state;
pub mod widget;
