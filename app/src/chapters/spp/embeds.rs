//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const ANY_SIZE: Widget = Widget {
    slug: "spp-any-size",
    title: text!(spp.widget_any_size),
};

pub const WINDOW: Widget = Widget {
    slug: "spp-window",
    title: text!(spp.widget_window),
};

pub const RACE: Widget = Widget {
    slug: "spp-race",
    title: text!(spp.widget_race),
};

pub const DETECT: Widget = Widget {
    slug: "spp-detect",
    title: text!(spp.widget_detect),
};
