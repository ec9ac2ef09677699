// onramp's one script, served at a content-hashed URL (web/assets.rs). Pages work without it; it only adds
// the show/hide toggle of password fields, moves focus to the error summary after a refused submit, and
// makes the console's user search live.
'use strict';

for (const button of document.querySelectorAll('button[data-password-toggle]')) {
  const inputs = (button.getAttribute('aria-controls') || '')
    .split(' ')
    .map((id) => document.getElementById(id))
    .filter(Boolean);
  if (inputs.length === 0) continue;
  button.hidden = false;
  button.addEventListener('click', () => {
    const show = inputs[0].type === 'password';
    for (const input of inputs) input.type = show ? 'text' : 'password';
    button.setAttribute('aria-pressed', String(show));
    button.textContent = show ? button.dataset.hideLabel : button.dataset.showLabel;
  });
}

const summary = document.querySelector('.error-summary');
if (summary) summary.focus();

// The console's user search (web/console/users.rs): as the admin types, the GET the form would make is
// fetched and its results put in place of the page's, and the address follows. Without the script the
// form's Search button does the same.
for (const form of document.querySelectorAll('form[data-live-search]')) {
  const target = document.getElementById(form.dataset.liveSearch);
  if (!target) continue;
  let timer;
  let controller;
  const run = async () => {
    const url = `${form.action}?${new URLSearchParams(new FormData(form))}`;
    controller?.abort();
    controller = new AbortController();
    try {
      const response = await fetch(url, { signal: controller.signal, credentials: 'same-origin' });
      const page = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = page.getElementById(target.id);
      if (!fresh) return;
      target.replaceChildren(...fresh.childNodes);
      history.replaceState(null, '', url);
    } catch {
      // Aborted by a newer keystroke, or the network failed: the form's button still searches.
    }
  };
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
}
