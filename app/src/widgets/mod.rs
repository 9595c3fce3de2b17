//! Every embeddable widget, addressable as `/embed/<slug>`.

pub mod asset_check;
pub mod gpu_bench;
pub mod gpu_selftest;

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    GpuSelfTest,
    GpuBench,
}

impl Widget {
    pub const ALL: [Widget; 2] = [Widget::GpuSelfTest, Widget::GpuBench];

    pub fn slug(self) -> &'static str {
        match self {
            Widget::GpuSelfTest => "gpu-selftest",
            Widget::GpuBench => "gpu-bench",
        }
    }

    /// The full page the widget belongs to, for the "open in glassbox" link.
    pub fn page(self) -> &'static str {
        match self {
            Widget::GpuSelfTest | Widget::GpuBench => "/gpu",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Widget::ALL.into_iter().find(|w| w.slug() == slug)
    }
}

#[component]
pub fn WidgetView(widget: Widget) -> impl IntoView {
    match widget {
        Widget::GpuSelfTest => view! { <gpu_selftest::GpuSelfTest/> }.into_any(),
        Widget::GpuBench => view! { <gpu_bench::GpuBench/> }.into_any(),
    }
}

/// What the URL parser ignored, said once at the top of the widget.
#[component]
pub fn UrlNotices(#[prop(into)] notices: Signal<Vec<String>>) -> impl IntoView {
    view! {
        <Show when=move || !notices.read().is_empty()>
            <ul class="notices" role="status" data-testid="url-notices">
                {move || notices.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
            </ul>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for widget in Widget::ALL {
            assert_eq!(Widget::from_slug(widget.slug()), Some(widget));
        }
        assert_eq!(Widget::from_slug("nope"), None);
    }
}
