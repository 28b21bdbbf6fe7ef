import 'reflect-metadata';
import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, type Relation } from 'typeorm';

/*
 * packages/db/sql/schema.sql as TypeORM entities. The SQL file is the source of truth (TypeORM never synchronizes
 * or migrates); test/schema.test.ts compares this metadata with the catalog that file creates, so a drift fails.
 * Every column type is spelled out (nothing relies on emitDecoratorMetadata's guesses), and constraint and index
 * names are PostgreSQL's generated ones so they can be compared too (a check on more than one column is named
 * `<table>_check`).
 */

@Entity({ name: 'products' })
@Check('products_price_cents_check', '"price_cents" > 0')
@Check('products_stock_check', '"stock" >= 0')
@Check('products_sold_check', '"sold" >= 0')
@Check('products_sold_within_stock', '"sold" <= "stock"')
export class Product {
  @PrimaryColumn({ type: 'integer', name: 'id', primaryKeyConstraintName: 'products_pkey' })
  id!: number;

  @Column({ type: 'text', name: 'name' })
  name!: string;

  @Column({ type: 'integer', name: 'price_cents' })
  priceCents!: number;

  @Column({ type: 'integer', name: 'stock' })
  stock!: number;

  @Column({ type: 'integer', name: 'sold', default: 0 })
  sold!: number;
}

@Entity({ name: 'orders' })
@Check('orders_quantity_check', '"quantity" BETWEEN 1 AND 100')
@Check('orders_unit_price_cents_check', '"unit_price_cents" > 0')
@Check('orders_check', '"total_cents" = "unit_price_cents" * "quantity"')
export class Order {
  @PrimaryGeneratedColumn('identity', { type: 'integer', name: 'id', generatedIdentity: 'BY DEFAULT', primaryKeyConstraintName: 'orders_pkey' })
  id!: number;

  @Index('orders_product_id_idx')
  @Column({ type: 'integer', name: 'product_id' })
  productId!: number;

  @ManyToOne(() => Product, { nullable: false })
  @JoinColumn({ name: 'product_id', foreignKeyConstraintName: 'orders_product_id_fkey' })
  product?: Relation<Product>;

  @Column({ type: 'integer', name: 'quantity' })
  quantity!: number;

  @Column({ type: 'integer', name: 'unit_price_cents' })
  unitPriceCents!: number;

  @Column({ type: 'integer', name: 'total_cents' })
  totalCents!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

export const entities = [Product, Order];
