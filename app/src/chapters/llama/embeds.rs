//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const WRITE: Widget = Widget {
    slug: "llama-write",
    title: text!(llama.widget_write),
};

pub const ACROSTIC: Widget = Widget {
    slug: "llama-acrostic",
    title: text!(llama.widget_acrostic),
};

pub const INSIDE: Widget = Widget {
    slug: "llama-inside",
    title: text!(llama.widget_inside),
};

pub const SCALING: Widget = Widget {
    slug: "llama-scaling",
    title: text!(llama.widget_scaling),
};

pub const SPEED: Widget = Widget {
    slug: "llama-speed",
    title: text!(llama.widget_speed),
};
