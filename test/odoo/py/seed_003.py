# Seed 003's script, call for call, with Python 3's xmlrpc.client in place of xmlrpclib. Prints what
# each step returned as one JSON object on stdout. Environment: PORTAL_URL, PORTAL_DB, ADMIN_PASSWORD,
# PLAN_ID, CLIENT_DB (the seed's 'client.odoo.local' unless given).
import json
import os
import xmlrpc.client

out = {}

# Define credentials
portal_url = os.environ['PORTAL_URL']
portal_db = os.environ['PORTAL_DB']
admin_username = 'admin'
admin_password = os.environ['ADMIN_PASSWORD']

# Authenticate
common = xmlrpc.client.ServerProxy('{}/xmlrpc/2/common'.format(portal_url))
admin_uid = common.authenticate(portal_db, admin_username, admin_password, {})
models = xmlrpc.client.ServerProxy('{}/xmlrpc/2/object'.format(portal_url))
out['admin_uid'] = admin_uid

# Signup a user
client_username = 'client-email@example.com'
client_name = 'Client Name'
client_password = 'Client Password'
out['signup'] = models.execute_kw(portal_db, admin_uid, admin_password, 'res.users', 'signup', [{
    'login': client_username,
    'name': client_name,
    'password': client_password,
}])

# Authenticate the user at Portal Database
client_uid = common.authenticate(portal_db, client_username, client_password, {})
out['client_uid'] = client_uid
# Create new Client database
plan_id = int(os.environ['PLAN_ID'])
client_db = os.environ.get('CLIENT_DB', 'client.odoo.local')
owner_password = 'password of owner to log in his database'
res = models.execute_kw(portal_db, admin_uid, admin_password,
                        'saas_portal.plan', 'create_new_database',
                        [plan_id], {'dbname': client_db, 'user_id': client_uid, 'owner_password': owner_password})
out['create_new_database'] = res

# Get id of client database record on SaaS Portal: from plan_id and partner_id
partner_id = client_uid
out['search_plan_partner'] = models.execute_kw(portal_db, admin_uid, admin_password,
                                               'saas_portal.client', 'search',
                                               [[['plan_id', '=', plan_id], ['partner_id', '=', partner_id]]])
# ... and from the name of the database
ids = models.execute_kw(portal_db, admin_uid, admin_password,
                        'saas_portal.client', 'search',
                        [[['name', '=', client_db]]])
out['search_name'] = ids

saas_portal_client_id = ids[0]
steps = [
    ('suspend', {'params': [{'key': 'saas_client.suspended', 'value': '1', 'hidden': True}]}),
    ('resume', {'params': [{'key': 'saas_client.suspended', 'value': '0', 'hidden': True}]}),
    ('max_users', {'params': [{'key': 'saas_client.max_users', 'value': '4', 'hidden': True}]}),
    ('storage', {'params': [{'key': 'saas_client.total_storage_limit', 'value': '500', 'hidden': True}]}),
    ('install', {'install_addons': ['sale', 'fleet']}),
    ('uninstall', {'uninstall_addons': ['fleet']}),
    ('access_owner_add', {'access_owner_add': ['base.group_sale_manager', 'stock.group_stock_manager']}),
    ('access_remove', {'access_remove': ['access_apps.group_show_modules_menu']}),
]
for name, data in steps:
    res = models.execute_kw(portal_db, admin_uid, admin_password,
                            'saas.config', 'do_upgrade_database',
                            [data, saas_portal_client_id])
    out[name] = res
    if name == 'suspend':
        out['state_suspended'] = models.execute_kw(portal_db, admin_uid, admin_password, 'saas_portal.client', 'read', [ids, ['state']])

out['read'] = models.execute_kw(portal_db, admin_uid, admin_password, 'saas_portal.client', 'read', [ids],
                                {'fields': ['name', 'plan_id', 'partner_id', 'state', 'max_users', 'total_storage_limit', 'client_id']})
print(json.dumps(out))
