// onramp's one script, served at a content-hashed URL (web/assets.rs). Pages work without it; it only adds
// the show/hide toggle of password fields and moves focus to the error summary after a refused submit.
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
