// Ask before a destructive form is sent: <form data-confirm="Delete node01?">.
// The question lives in a data attribute (HTML-escaped text) and is read here as text; it is
// never placed inside an inline onsubmit="…" handler, where an HTML-escaped name such as
// "');alert(1);//" would be decoded back into running JavaScript.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
