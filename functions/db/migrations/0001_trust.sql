CREATE TABLE `audit_log` (
	`seq` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`detail` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_log_prev_hash_unique` ON `audit_log` (`prev_hash`);--> statement-breakpoint
CREATE TABLE `vendor_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`vendor_id` text NOT NULL,
	`public_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`vendor_id`) REFERENCES `vendors`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `vendor_keys_vendor_idx` ON `vendor_keys` (`vendor_id`);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `require_signed_models` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `models` ADD `signature` text;--> statement-breakpoint
ALTER TABLE `models` ADD `signing_key_id` text REFERENCES vendor_keys(key_id);--> statement-breakpoint
ALTER TABLE `site_keys` ADD `revoked_reason` text;