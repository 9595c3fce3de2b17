//! The browser side of `glassbox/1` (the messages are in `embed_protocol`):
//! when `/embed/<widget>` runs inside another page's iframe, it tells the
//! parent window that it is ready, its height (watched by a ResizeObserver)
//! and every state change, and obeys the parent's commands. Outside an
//! iframe it does nothing.

use std::{cell::Cell, rc::Rc};

use leptos::{html, prelude::*};
use leptos_router::hooks::{use_location, use_navigate};
use serde_json::Value;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{MessageEvent, ResizeObserver, Window};

use crate::shell::{
    embed_protocol::{self as protocol, Command, HostTrust},
    theme,
    url_state::{in_place, path_with_query},
    widget::Widget,
};

/// Posts to the parent window, with the target origin `origin=` allows.
#[derive(Clone)]
struct ToHost {
    parent: Window,
    target: Option<String>,
}

impl ToHost {
    fn post(&self, message: &Value) {
        let Some(target) = &self.target else { return };
        // serde_json's text is always valid JSON; a host that went away
        // makes postMessage fail, which is not the widget's problem.
        if let Ok(js) = js_sys::JSON::parse(&message.to_string()) {
            let _ = self.parent.post_message(&js, target);
        }
    }
}

/// A ResizeObserver that stops observing when dropped (with the embed).
struct HeightWatch {
    observer: ResizeObserver,
    _callback: Closure<dyn FnMut()>,
}

impl Drop for HeightWatch {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// The parent window, if this page is in a frame (`window.parent !== window`).
fn embedding_parent(window: &Window) -> Option<Window> {
    let parent = window.parent().ok()??;
    (!js_sys::Object::is(parent.as_ref(), window.as_ref())).then_some(parent)
}

/// The message's data as JSON, or `None` for data JSON cannot express
/// (undefined, cyclic objects, getters that throw).
fn data_as_json(event: &MessageEvent) -> Option<Value> {
    let data = event.data();
    if !data.is_object() {
        return None;
    }
    let text = js_sys::JSON::stringify(&data).ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Connects the embed whose root element is `root` to its host, if any.
pub fn use_embed_bridge(widget: Widget, root: NodeRef<html::Div>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(parent) = embedding_parent(&window) else {
        return;
    };
    let trust = HostTrust::from_search(&window.location().search().unwrap_or_default());
    if trust == HostTrust::Nobody {
        web_sys::console::warn_1(&JsValue::from_str(
            "glassbox: origin= is not an origin (like https://example.org); the embed ignores its host",
        ));
    }
    let host = ToHost {
        parent: parent.clone(),
        target: trust.target_origin().map(String::from),
    };
    let location = use_location();
    let (search, pathname) = (location.search, location.pathname);
    let navigate = use_navigate();

    // Commands: only from the parent window, and only from the origin
    // `origin=` names, if it names one. Anything malformed is dropped.
    let on_message = {
        let host = host.clone();
        move |event: &web_sys::Event| {
            let Some(event) = event.dyn_ref::<MessageEvent>() else {
                return;
            };
            let from_parent = event
                .source()
                .is_some_and(|source| js_sys::Object::is(source.as_ref(), parent.as_ref()));
            if !from_parent || !trust.accepts(&event.origin()) {
                return;
            }
            let Some(command) = data_as_json(event).and_then(|d| protocol::parse_command(&d))
            else {
                return;
            };
            match command {
                Command::SetState { query } => {
                    let (Some(path), Some(current)) =
                        (pathname.try_get_untracked(), search.try_get_untracked())
                    else {
                        return;
                    };
                    let url = path_with_query(&path, &protocol::set_state_search(&current, &query));
                    // Replace, as widgets do: an iframe's history entries
                    // would otherwise fill the host page's Back button.
                    navigate(&url, in_place());
                }
                Command::GetState { id } => {
                    if let Some(current) = search.try_get_untracked() {
                        host.post(&protocol::result(&id, &protocol::widget_query(&current)));
                    }
                }
                Command::SetTheme { theme } => theme::apply(theme),
            }
        }
    };
    StoredValue::new_local(gloo_events::EventListener::new(
        &window, "message", on_message,
    ));

    // `ready` once the widget is in the document, then `state` whenever
    // the widget's query changes (a control moved, or a setState).
    let height_watch = StoredValue::new_local(None::<HeightWatch>);
    let host_for_state = host.clone();
    Effect::new(move |reported: Option<Option<String>>| {
        let query = protocol::widget_query(&search.get());
        let element = root.get()?;
        match reported.flatten() {
            None => {
                host_for_state.post(&protocol::ready(widget.slug(), &query));
                height_watch.set_value(watch_height(&element, host_for_state.clone()));
            }
            Some(previous) if previous != query => {
                host_for_state.post(&protocol::state(&query));
            }
            Some(_) => {}
        }
        Some(query)
    });
}

/// Posts `resize` (and `iframe.resize`) whenever the embed's height
/// changes. The embed's own element is measured, not the document, whose
/// height is never less than the iframe's: that way shrinking shows too.
fn watch_height(element: &web_sys::HtmlDivElement, host: ToHost) -> Option<HeightWatch> {
    let element: web_sys::Element = element.clone().into();
    let src = web_sys::window()?.location().href().ok()?;
    let last = Rc::new(Cell::new(u32::MAX));
    let measured = element.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        let height = measured.get_bounding_client_rect().height().ceil().max(0.0) as u32;
        if last.replace(height) != height {
            host.post(&protocol::resize(height));
            host.post(&protocol::iframe_resize(&src, height));
        }
    });
    let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok()?;
    observer.observe(&element);
    Some(HeightWatch {
        observer,
        _callback: callback,
    })
}
