//! The chapter's embeddable widgets: each one's slug (`/embed/<slug>`) and
//! title. The page, the deck and the registry name them from here.

use crate::shell::{text::text, widget::Widget};

pub const CHECKER: Widget = Widget {
    slug: "align-checker",
    title: text!(align.widget_checker),
};

pub const STAGES: Widget = Widget {
    slug: "align-stages",
    title: text!(align.widget_stages),
};

pub const FRONTIER: Widget = Widget {
    slug: "align-frontier",
    title: text!(align.widget_frontier),
};

pub const PROXY: Widget = Widget {
    slug: "align-reward-model",
    title: text!(align.widget_proxy),
};

pub const IMPLICIT: Widget = Widget {
    slug: "align-implicit",
    title: text!(align.widget_implicit),
};

pub const LABELLER: Widget = Widget {
    slug: "align-labeller",
    title: text!(align.widget_labeller),
};
