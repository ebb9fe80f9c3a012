/*
 * An Odoo-shaped template database, as far as instance users and files go: the tables and required
 * columns a real Odoo database has for them (res_company, res_partner, res_users with its unique
 * login, NOT NULL company, partner and notification type and no database defaults for them, groups
 * through ir_model_data and res_groups_users_rel, companies through res_company_users_rel), Odoo's
 * ir_config_parameter, and ir_attachment with Odoo's columns (name and type NOT NULL with no database
 * default, content in db_datas or a filestore name, file_size, checksum, mimetype, ...) and
 * ir_model_data's unique (module, name). Seeded as a fresh Odoo is: the superuser
 * (inactive), the admin, a portal user (share), two groups and two attachments.
 */
export const ODOO_TEMPLATE_SQL = `
  create table res_company (id serial primary key, name varchar not null);
  create table res_partner (
    id serial primary key, name varchar, display_name varchar, email varchar, active boolean,
    company_id integer references res_company (id), type varchar, lang varchar not null,
    create_date timestamp, write_date timestamp
  );
  create table res_users (
    id serial primary key, login varchar not null, password varchar, active boolean default true,
    company_id integer not null references res_company (id), partner_id integer not null references res_partner (id),
    share boolean, notification_type varchar not null, signature text, create_date timestamp, write_date timestamp,
    constraint res_users_login_key unique (login)
  );
  create table res_groups (id serial primary key, name varchar not null);
  create table ir_model_data (id serial primary key, module varchar not null, name varchar not null, model varchar not null, res_id integer);
  create table res_groups_users_rel (gid integer not null references res_groups (id), uid integer not null references res_users (id), primary key (gid, uid));
  create table res_company_users_rel (cid integer not null references res_company (id), user_id integer not null references res_users (id), primary key (cid, user_id));
  create table ir_config_parameter (id serial primary key, key varchar not null unique, value text);
  create table ir_attachment (
    id serial primary key, res_id integer, company_id integer references res_company (id), file_size integer,
    create_uid integer references res_users (id), write_uid integer references res_users (id),
    name varchar not null, res_model varchar, res_field varchar, type varchar not null, url varchar(1024),
    access_token varchar, store_fname varchar, checksum varchar(40), mimetype varchar, description text,
    index_content text, public boolean, create_date timestamp, write_date timestamp, db_datas bytea
  );
  create index ir_attachment_res_idx on ir_attachment (res_model, res_id);
  create index ir_attachment_store_fname_index on ir_attachment (store_fname);
  alter table ir_model_data add constraint ir_model_data_module_name_uniq_index unique (module, name);
  insert into res_company (name) values ('My Company');
  insert into res_partner (name, display_name, active, company_id, type, lang) values
    ('OdooBot', 'OdooBot', false, 1, 'contact', 'en_US'), ('Administrator', 'Administrator', true, 1, 'contact', 'en_US'), ('Portal', 'Portal', true, 1, 'contact', 'en_US');
  insert into res_users (login, active, company_id, partner_id, share, notification_type) values
    ('__system__', false, 1, 1, false, 'email'), ('admin', true, 1, 2, false, 'inbox'), ('portal', true, 1, 3, true, 'email');
  insert into res_groups (name) values ('Internal User'), ('Settings');
  insert into ir_model_data (module, name, model, res_id) values ('base', 'group_user', 'res.groups', 1), ('base', 'group_system', 'res.groups', 2);
  insert into res_groups_users_rel values (1, 2), (2, 2);
  insert into res_company_users_rel values (1, 1), (1, 2), (1, 3);
  insert into ir_config_parameter (key, value) values ('database.uuid', 'template');
  insert into ir_attachment (name, res_model, res_id, company_id, type, file_size, checksum, mimetype, db_datas, store_fname) values
    ('logo.png', 'res.company', 1, 1, 'binary', 4096, '1ceaf73df40e531df3bfb26b4fb7cd95fb7bff1d', 'image/png', decode(repeat('00', 4096), 'hex'), null),
    ('terms.pdf', 'res.company', 1, 1, 'binary', 1000, null, 'application/pdf', null, '3b/3b4c5d');
`;
