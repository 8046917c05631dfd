// Form fields drawn from a kind's table entry (kinds.js), and reading them
// back into a request body. A secret's input is emptied the moment it is read.

import { el } from "./dom.js";

let counter = 0;

export function fieldInput(field, value) {
  counter += 1;
  const id = `field-${field.name}-${counter}`;
  if (field.type === "checkbox") {
    return el("div", { class: "check" },
      el("input", { type: "checkbox", id, name: field.name, checked: Boolean(value) }),
      el("label", { for: id, text: field.label }));
  }
  let input;
  if (field.secret && field.multiline) {
    // A key file is read from disk: its text never enters the page.
    input = el("input", { type: "file", id, name: field.name });
  } else {
    input = el("input", {
      type: field.secret ? "password" : field.type === "number" ? "number" : "text",
      id, name: field.name,
      autocomplete: field.secret ? "new-password" : "off", spellcheck: "false",
      placeholder: field.placeholder,
    });
    if (value !== undefined && value !== null && !field.secret) {
      input.value = Array.isArray(value) ? value.join(" ") : String(value);
    }
  }
  if (field.required) {
    input.required = true;
    input.setAttribute("aria-required", "true");
  }
  return el("div", { class: "field" },
    el("label", { for: id }, field.label, field.required ? el("span", {
      class: "required", "aria-hidden": "true", text: " *" }) : null),
    input);
}

// A number field as a number, a list as its words; text as it is.
function typed(field, value) {
  if (field.type === "number") return Number(value);
  if (field.type === "list") return value.split(/[\s,]+/).filter(Boolean);
  return value;
}

// The member's fields from the form; secrets included, and their inputs cleared.
export async function readMember(form, kind, { secrets = true } = {}) {
  const member = {};
  const files = [];
  for (const field of kind.fields) {
    const input = form.elements.namedItem(field.name);
    if (!input) continue;
    if (field.type === "checkbox") {
      if (input.checked) member[field.name] = true;
    } else if (field.secret && field.multiline) {
      if (secrets && input.files.length) files.push([field.name, input.files[0]]);
      input.value = "";
    } else {
      const value = field.secret ? input.value : input.value.trim();
      if (field.secret) input.value = "";
      if (value && (secrets || !field.secret)) member[field.name] = typed(field, value);
    }
  }
  for (const [name, file] of files) member[name] = await file.text();
  return member;
}

// Every secret input of a form emptied (after a submit, a failure or a close).
export function clearSecrets(form) {
  for (const input of form.querySelectorAll("input[type=password], input[type=file]")) {
    input.value = "";
  }
}
