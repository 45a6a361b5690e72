// Issue 17: what every page does with JavaScript, none of it needed to use the page.
const script = document.currentScript;

// The error summary takes the focus, so a screen reader reads it first; its links move to
// the field (the browser follows #id; the focus goes with it here).
const summary = document.querySelector("[data-error-summary]");
if (summary) {
  summary.focus();
  summary.querySelectorAll("a[href^='#']").forEach((link) => {
    link.addEventListener("click", (event) => {
      const input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) return;
      event.preventDefault();
      input.focus();
      input.scrollIntoView({ block: "center" });
    });
  });
}

// Escape closes the name menu and gives the focus back to its summary.
document.querySelectorAll("details.menu").forEach((menu) => {
  menu.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
});

// « Afficher » / « Masquer » beside every password field.
const show = script ? script.dataset.show : "Show";
const hide = script ? script.dataset.hide : "Hide";
document.querySelectorAll("input[type=password]").forEach((input) => {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary password-toggle";
  button.textContent = show;
  button.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-controls", input.id);
  button.addEventListener("click", () => {
    const shown = input.type === "password";
    input.type = shown ? "text" : "password";
    button.textContent = shown ? hide : show;
    button.setAttribute("aria-pressed", String(shown));
  });
  // In one row with its field, so the field's error stays right under the field.
  const row = document.createElement("span");
  row.className = "password-row";
  input.insertAdjacentElement("beforebegin", row);
  row.append(input, button);
});
