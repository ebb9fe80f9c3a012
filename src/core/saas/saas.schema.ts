/** Shapes of the SaaS portal use cases (tenant instances made from plans), whichever door calls them. */

/** Access groups instances know (Odoo group xml ids); `access_owner_add` / `access_remove` accept these. */
export const ACCESS_GROUPS: Record<string, string> = {
  'base.group_user': 'Employee',
  'base.group_partner_manager': 'Contact Creation',
  'base.group_system': 'Settings',
  'base.group_erp_manager': 'Access Rights',
  'base.group_sale_salesman': 'Sales / User: Own Documents Only',
  'base.group_sale_manager': 'Sales / Manager',
  'sales_team.group_sale_manager': 'Sales / Administrator',
  'stock.group_stock_user': 'Inventory / User',
  'stock.group_stock_manager': 'Inventory / Manager',
  'account.group_account_invoice': 'Invoicing / Billing',
  'account.group_account_manager': 'Invoicing / Billing Manager',
  'fleet.fleet_group_user': 'Fleet / User',
  'fleet.fleet_group_manager': 'Fleet / Manager',
  'project.group_project_manager': 'Project / Manager',
  'hr.group_hr_manager': 'Employees / Manager',
  'access_apps.group_show_modules_menu': 'Show Apps Menu',
};

/** What a new instance's owner gets (the seed: Employee and Contact Creation). */
export const OWNER_GROUPS = ['base.group_user', 'base.group_partner_manager'];

/** What a portal sign-up gets: the portal's own minimum (Portal, View Online Payment Options). */
export const PORTAL_SIGNUP_GROUPS = ['base.group_portal', 'account.group_view_online_payment_options'];

/** How long the owner's login link of a new instance lasts (the seed: one hour). */
export const INSTANCE_LOGIN_TTL_SECONDS = 60 * 60;

/** Written for an instance whose plan sets no user limit: users,max 0 means "no limit" on this door. */
export const NO_USER_LIMIT = 0;

/** The storage every instance uses before any file (its empty database), in bytes. */
export const INSTANCE_BASE_STORAGE_BYTES = 2 * 1024 * 1024;

export interface CreatedInstance {
  /** The owner's one-hour, single-use login link into the instance. */
  url: string;
  auth_url: string;
  /** The instance (client) id. */
  id: number;
  /** The instance's UUID. */
  client_id: string;
}

export interface InstanceUsage {
  /** Bytes in use: the empty database plus the instance's files. */
  used_bytes: number;
  used_mb: number;
  /** Storage limit in MB (diskquota,quota); 0: no limit. */
  limit_mb: number;
  exceeded: boolean;
}

/** `do_upgrade_database`'s payload, as any door hands it over. */
export interface UpgradePayload {
  params?: unknown;
  install_addons?: unknown;
  uninstall_addons?: unknown;
  access_owner_add?: unknown;
  access_remove?: unknown;
}
