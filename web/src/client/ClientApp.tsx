// The client admin area: built in the issue 7 work, not yet here.
export function ClientApp() {
  return (
    <main id="main">
      <h1>Not available yet</h1>
      <p>This part of the console is not built yet.</p>
    </main>
  );
}
