/** `/`: nothing open yet. */
export default function HomePage() {
  return (
    <div className="empty-state">
      <h1>Persistent chat</h1>
      <p>Every conversation is saved on the server as it happens. Pick a chat on the left or start a new one.</p>
    </div>
  );
}
