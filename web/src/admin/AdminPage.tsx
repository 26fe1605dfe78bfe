/** Placeholder: the admin screens are being built. */
export function AdminPage() {
  return <main data-testid="admin-page">Admin</main>;
}
