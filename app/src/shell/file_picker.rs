//! A file input behind a button of our own: the browser's "Choose File"
//! control is in the browser's language, not the page's, and its width is
//! the browser's too (it was clipped at 1280 px). The native input stays in
//! the page, visually hidden, so Tab reaches it and a screen reader names it
//! by the button's words.

use leptos::prelude::*;

#[component]
pub fn FilePicker(
    /// What the input accepts (`image/*`, `.safetensors`).
    accept: &'static str,
    testid: &'static str,
    on_change: impl FnMut(web_sys::Event) + 'static,
    /// The button's words, in the page's language.
    children: Children,
) -> impl IntoView {
    view! {
        <label class="file-picker">
            <input type="file" class="sr-only" accept=accept data-testid=testid on:change=on_change/>
            <span class="file-picker-button" data-testid=format!("{testid}-button")>{children()}</span>
        </label>
    }
}
