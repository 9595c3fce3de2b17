//! The compute backend for the whole page, detected once at start-up.

use compute::Backend;
use leptos::prelude::*;

/// Context newtype: the backend, resolved once WebGPU has answered.
#[derive(Clone, Copy)]
pub struct LiveBackend(pub LocalResource<Backend>);

impl LiveBackend {
    pub fn provide() {
        provide_context(LiveBackend(LocalResource::new(Backend::detect)));
    }

    pub fn expect() -> Self {
        use_context::<LiveBackend>()
            .expect("LiveBackend::provide() must run in App before any page renders")
    }
}

/// The header badge text: which backend is live, and why if it is the CPU.
pub fn badge_text(backend: &Backend) -> String {
    match backend {
        Backend::Gpu(exec) => format!("WebGPU · {}", exec.ctx().summary().adapter_name),
        Backend::Cpu(reason) => format!("CPU (WebGPU unavailable: {reason})"),
    }
}

#[component]
pub fn BackendBadge() -> impl IntoView {
    let backend = LiveBackend::expect().0;
    view! {
        <Suspense fallback=|| view! { <span class="badge" data-testid="backend-badge">"Detecting GPU…"</span> }>
            {move || Suspend::new(async move {
                let backend = backend.await;
                let kind = match backend {
                    Backend::Gpu(_) => "webgpu",
                    Backend::Cpu(_) => "cpu",
                };
                view! {
                    <span class=format!("badge badge-{kind}") data-testid="backend-badge" data-backend=kind>
                        {badge_text(&backend)}
                    </span>
                }
            })}
        </Suspense>
    }
}
