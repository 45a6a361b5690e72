// Seed 000: the fields appear when « Je suis un dentiste » is ticked; unticked, the
// explanation for delegates shows instead. Without JavaScript the server says the same.
document.querySelectorAll("form[data-member-toggle]").forEach((form) => {
  const box = form.querySelector("input[name=is_member]");
  const fields = form.querySelector("[data-member-fields]");
  const help = form.querySelector("[data-non-member-help]");
  if (!box || !fields) return;
  const sync = () => {
    fields.hidden = !box.checked;
    if (help) help.hidden = box.checked;
  };
  box.addEventListener("change", sync);
  sync();
});
