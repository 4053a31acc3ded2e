import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** The dashboard's own endpoint; its files are served by registerDashboard (gateway.app.ts). */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
