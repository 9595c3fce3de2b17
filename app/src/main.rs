fn main() {
    console_error_panic_hook::set_once();
    report_csp_violations();
    leptos::mount::mount_to_body(glassbox_app::App);
    glassbox_app::shell::offline::register_service_worker();
}

/// The page's Content-Security-Policy allows only its own origin. A
/// violation is a bug: say so in the console, and count it on `<html>`
/// (`data-csp-violations`), where the browser tests look.
fn report_csp_violations() {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    gloo_events::EventListener::new(&document, "securitypolicyviolation", |event| {
        let Some(e) = event.dyn_ref::<web_sys::SecurityPolicyViolationEvent>() else {
            return;
        };
        web_sys::console::error_1(
            &format!(
                "Content-Security-Policy violation: {} blocked {}",
                e.violated_directive(),
                e.blocked_uri()
            )
            .into(),
        );
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|r| r.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(root) = root {
            let dataset = root.dataset();
            let seen = dataset
                .get("cspViolations")
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0);
            let _ = dataset.set("cspViolations", &(seen + 1).to_string());
        }
    })
    .forget();
}
